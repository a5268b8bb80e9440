/// How a notification reaches a webhook, from the controller (deploys) and from a host (catch-ups):
/// `curl` POSTs the JSON it reads on stdin, within 10 s, and fails on an HTTP error status.
public enum WebhookPost {
    public static func argv(url: String) -> [String] {
        ["curl", "--silent", "--show-error", "--fail", "--max-time", "10", "--request", "POST",
         "--header", "Content-Type: application/json", "--data-binary", "@-", "--", url]
    }
}
