import BerthCore

/// `preflight:` — `{disk_free: 5G, git: clean, required: [KEY, ...], reach: [DATABASE_URL, ...]}`.
struct PreflightSection {
    static let keys = ["disk_free", "git", "required", "reach"]

    private(set) var config = PreflightConfig()

    init(_ node: ConfigNode, _ diagnostics: Diagnostics) throws(ConfigError) {
        let fields = try Fields(node, context: "in preflight", allowed: Self.keys, diagnostics)
        if let node = fields.optional("disk_free") {
            config.diskFreeBytes = diagnostics.check { () throws(ConfigError) in try Self.size(node) }
        }
        if let node = fields.optional("git") {
            diagnostics.check { () throws(ConfigError) in
                if case let .scalar(_, kind, _) = node.content, kind == .bool, try node.bool() == false { return }
                guard try node.text(expected: "'clean' or false") == "clean" else {
                    throw node.error("'git' takes 'clean' (the app's folder must be committed and not behind its upstream) or false")
                }
                config.gitClean = true
            }
        }
        for key in ["required", "reach"] {
            guard let node = fields.optional(key) else { continue }
            let names: [String] = diagnostics.check { () throws(ConfigError) in
                try node.list(expected: "a list of env var names").compactMap { item in
                    diagnostics.check { () throws(ConfigError) in
                        let name = try item.text(expected: "an env var name")
                        guard DotEnv.isValidName(name) else {
                            throw item.error("'\(name)' is not an env var name (letters, digits and '_', not starting with a digit)")
                        }
                        return name
                    }
                }
            } ?? []
            if key == "required" { config.required = names } else { config.reach = names }
        }
    }

    /// `500M`, `5G`, `1.5G`, `2T` (binary units), or plain bytes.
    static func size(_ node: ConfigNode) throws(ConfigError) -> Int {
        let expected = "a size such as 500M, 5G or 1.5G"
        guard case let .scalar(text, kind, _) = node.content, kind != .null, kind != .bool else { throw node.mismatch(expected) }
        var number = Substring(text.uppercased())
        if number.hasSuffix("IB") { number = number.dropLast(2) } else if number.hasSuffix("B") { number = number.dropLast() }
        var factor = 1.0
        if let unit = number.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(unit)] {
            factor = Double(1 << (10 * power))
            number = number.dropLast()
        }
        guard let value = Double(number), value >= 0, value * factor < Double(Int64.max / 2) else { throw node.mismatch(expected) }
        return Int(value * factor)
    }
}
