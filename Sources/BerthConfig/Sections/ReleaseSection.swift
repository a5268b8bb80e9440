import BerthCore

/// `release:` — what to ship, what to run before packing, what to keep.
struct ReleaseSection {
    static let keys = ["path", "build", "keep", "shared"]

    private(set) var config = ReleaseConfig(path: "")
    /// Where `path` is written, for "release path does not exist".
    private(set) var pathLocation: SourceLocation

    init(_ node: ConfigNode, _ diagnostics: Diagnostics) throws(ConfigError) {
        let fields = try Fields(node, context: "in release", allowed: Self.keys, diagnostics)
        pathLocation = node.location
        if let path = diagnostics.check({ () throws(ConfigError) in try fields.required("path") }) {
            pathLocation = path.location
            config.path = diagnostics.check { () throws(ConfigError) in try path.singleLine(expected: "a path") } ?? ""
        }
        config.build = diagnostics.check { () throws(ConfigError) in
            try fields.optional("build")?.singleLine(expected: "a command")
        }
        config.keep = diagnostics.check { () throws(ConfigError) in
            try fields.optional("keep")?.integer(in: 1...100)
        } ?? 5
        config.shared = diagnostics.check { () throws(ConfigError) in
            try fields.optional("shared")?.names("shared directory", nonEmpty: false, diagnostics).map(\.name)
        } ?? []
    }
}
