/// Hides the environment's secret values in text that leaves the host (journal excerpts in
/// `--json`, history and webhooks): every occurrence of every env-file value of at least
/// `minimumLength` characters becomes `***`. Shorter values (`1`, `on`, `yes`) are left: masking
/// them would mask ordinary words and hide nothing worth hiding.
public struct SecretMask: Sendable {
    public static let minimumLength = 4
    public static let replacement = "***"

    /// Values to hide, longest first, so a value that contains another is hidden whole.
    private let secrets: [[UInt8]]

    public init(_ variables: [EnvVar], minimumLength: Int = SecretMask.minimumLength) {
        var unique: [[UInt8]] = []
        for variable in variables where variable.value.count >= minimumLength {
            let bytes = Array(variable.value.utf8)
            if !unique.contains(bytes) { unique.append(bytes) }
        }
        secrets = unique.sorted { $0.count > $1.count }
    }

    public func apply(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        let bytes = Array(text.utf8)
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        scan: while index < bytes.count {
            for secret in secrets where bytes.count - index >= secret.count && bytes[index] == secret[0] {
                if bytes[index..<(index + secret.count)].elementsEqual(secret) {
                    result += Array(Self.replacement.utf8)
                    index += secret.count
                    continue scan
                }
            }
            result.append(bytes[index])
            index += 1
        }
        return String(decoding: result, as: UTF8.self)
    }

    public func apply(_ lines: [String]) -> [String] { lines.map(apply) }
}
