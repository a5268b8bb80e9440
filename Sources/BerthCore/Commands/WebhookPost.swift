/// How a notification reaches a webhook, from the controller (deploys) and from a host (catch-ups):
/// `curl` POSTs a JSON body within 10 s and fails on an HTTP error status.
///
/// A webhook URL is often a secret (Slack's carry their token in the path), so it is never an
/// argument: `ps` and `/proc/<pid>/cmdline` would show it to every user of the machine. curl reads
/// the URL and the body from a config on its stdin (`--config -`), which `stdin(url:body:)` builds.
public enum WebhookPost {
    public static let argv: [String] = [
        "curl", "--silent", "--show-error", "--fail", "--max-time", "10", "--request", "POST",
        "--header", "Content-Type: application/json", "--config", "-",
    ]

    /// The curl config that carries the URL and the body, in double quotes with curl's escapes.
    public static func stdin(url: String, body: String) -> String {
        "url = \(quote(url))\ndata-binary = \(quote(body))\n"
    }

    /// `"text"` with the escapes curl's config parser reads inside double quotes: `\\`, `\"`, `\n`,
    /// `\r`, `\t` and `\v`.
    public static func quote(_ text: String) -> String {
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            case "\u{0B}": quoted += "\\v"
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }

    /// How messages name the webhook: never by its URL.
    public static let shownAs = "the webhook (notify.webhook)"
}
