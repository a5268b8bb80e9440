import Foundation

extension JSONEncoder {
    /// The encoder for everything Berth's controller prints or sends (engine plans, `--json`,
    /// notifications): sorted keys, so output is stable and diffable, and URLs left unescaped.
    public static func stable() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
