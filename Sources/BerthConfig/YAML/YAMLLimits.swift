import CYaml

/// Bounds on what an app file may make Berth do before it is even read: its size, how deep it
/// nests, and how far its aliases expand.
///
/// Yams resolves an alias (`*name`) to the anchored node itself, so a composed tree shares nodes
/// and a "billion laughs" file composes quickly; but everything that walks the tree afterwards
/// (Yams' own duplicate-key check hashes alias keys, `YAMLReader` converts the tree) pays for the
/// tree as if every alias were written out. `check` runs first, on libyaml's event stream: it counts
/// each alias as the size of its anchored node, and stops at the first alias, value or byte past a
/// limit, pointing at it. It costs one pass of the parser and memory for one number per anchor.
enum YAMLLimits {
    /// An app file is a few KB; this is far beyond any real one.
    static let maxBytes = 256 << 10
    /// `environments: > staging: > proxy: > domains: > key` is 5 deep.
    static let maxDepth = 32
    static let maxAliases = 1_000
    /// Values (scalars, lists and mappings) in the document with every alias written out. A file
    /// within `maxBytes` holds fewer than this without aliases.
    static let maxExpandedNodes = 200_000
    /// Bytes of scalar text with every alias written out.
    static let maxExpandedBytes = 4 << 20

    static let remedy = "write the values out instead of repeating them through aliases"

    /// Throws at the first place that exceeds a limit; syntax errors are left for Yams to report.
    static func check(_ text: String, file: String) throws(ConfigError) {
        let size = text.utf8.count
        if size > maxBytes {
            let place = position(ofByte: maxBytes, in: text)
            throw ConfigError(location: SourceLocation(file: file, line: place.line, column: place.column),
                              message: "the app file is larger than \(describe(bytes: maxBytes)), the most an app file may have; this is where it passes that size")
        }
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return }
        try bytes.withUnsafeMutableBufferPointer { buffer throws(ConfigError) in
            try walk(buffer, file: file)
        }
    }

    private struct Size {
        var nodes = 0
        var bytes = 0
    }

    private static func walk(_ buffer: UnsafeMutableBufferPointer<UInt8>, file: String) throws(ConfigError) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)

        var anchors: [String: Size] = [:]
        /// Open lists and mappings: their anchor and the size of what they hold so far.
        var open: [(anchor: String?, size: Size)] = []
        var total = Size()
        var aliases = 0

        func location(_ mark: yaml_mark_t) -> SourceLocation {
            SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
        }
        func name(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        }
        func add(_ size: Size) {
            if !open.isEmpty {
                open[open.count - 1].size.nodes += size.nodes
                open[open.count - 1].size.bytes += size.bytes
            }
        }

        while true {
            var event = yaml_event_t()
            // A syntax error: Yams reports it, with its own words and place.
            guard yaml_parser_parse(&parser, &event) == 1 else { return }
            defer { yaml_event_delete(&event) }
            let mark = event.start_mark
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return
            case YAML_SCALAR_EVENT:
                let size = Size(nodes: 1, bytes: Int(event.data.scalar.length))
                total.nodes += 1
                total.bytes += size.bytes
                add(size)
                if let anchor = name(event.data.scalar.anchor) { anchors[anchor] = size }
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                if open.count >= maxDepth {
                    throw ConfigError(location: location(mark), message:
                        "the app file nests more than \(maxDepth) levels deep here; an app file needs at most a few levels")
                }
                let anchor = event.type == YAML_SEQUENCE_START_EVENT
                    ? name(event.data.sequence_start.anchor) : name(event.data.mapping_start.anchor)
                total.nodes += 1
                open.append((anchor, Size(nodes: 1, bytes: 0)))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let closed = open.popLast() else { break }
                add(closed.size)
                if let anchor = closed.anchor { anchors[anchor] = closed.size }
            case YAML_ALIAS_EVENT:
                aliases += 1
                let anchor = name(event.data.alias.anchor) ?? ""
                if aliases > maxAliases {
                    throw ConfigError(location: location(mark), message:
                        "the app file uses more than \(maxAliases) aliases; \(remedy)")
                }
                // An alias of an anchor not yet complete is Yams' error to report ("undefined alias").
                let size = anchors[anchor] ?? Size(nodes: 1, bytes: 0)
                total.nodes += size.nodes
                total.bytes += size.bytes
                if total.nodes > maxExpandedNodes {
                    throw ConfigError(location: location(mark), message:
                        "with its aliases expanded the app file would hold more than \(maxExpandedNodes) values, and this alias ('*\(anchor)', \(size.nodes) values) crosses that; \(remedy)")
                }
                if total.bytes > maxExpandedBytes {
                    throw ConfigError(location: location(mark), message:
                        "with its aliases expanded the app file would hold more than \(describe(bytes: maxExpandedBytes)) of text, and this alias ('*\(anchor)') crosses that; \(remedy)")
                }
                add(size)
            default:
                break
            }
        }
    }

    /// Line and column (in Unicode scalars, as libyaml counts) of the byte at `offset`.
    static func position(ofByte offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1, column = 1, consumed = 0
        for scalar in text.unicodeScalars {
            if consumed >= offset { break }
            consumed += scalar.utf8.count
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }

    static func describe(bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 20 { return "\((bytes * 10 >> 20) / 10).\((bytes * 10 >> 20) % 10) MiB" }
        if bytes >= 1 << 10 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}
