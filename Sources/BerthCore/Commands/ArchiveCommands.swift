/// The programs a host runs on a release archive it received, and how their output is read.
///
/// A release archive comes over the wire (from the controller, or from the release store at
/// catch-up), so before anything is unpacked its bytes are checked against the release id (the
/// SHA-256 of the `.tar.gz`) and its listing against what a release may contain.
public enum ArchiveCommands {
    /// `sha256sum` of one file; its first word is the digest.
    public static func sha256(_ path: String) -> [String] {
        ["sha256sum", "--", path]
    }

    /// The verbose listing of a gzip'd tar: one line per member, type and mode first, then the
    /// numeric owner, the size, the date and the name (`-> target` for a symlink, `link to target`
    /// for a hard link).
    public static func list(_ archive: String) -> [String] {
        ["tar", "--list", "--verbose", "--numeric-owner", "--gzip", "--file", archive]
    }

    /// Unpacks into `directory`: files owned by the engine's user, modes limited by its umask, and
    /// existing directories (the target's own) left as they are.
    public static func extract(_ archive: String, into directory: String) -> [String] {
        ["tar", "--extract", "--gzip", "--no-same-owner", "--no-same-permissions", "--no-overwrite-dir",
         "--directory", directory, "--file", archive]
    }

    /// The digest in `sha256sum`'s output, if it printed one.
    public static func digest(fromSHA256Output output: String) -> String? {
        guard let word = output.split(whereSeparator: { $0 == " " || $0 == "\n" }).first,
              isSHA256(String(word)) else { return nil }
        return String(word)
    }

    /// 64 lowercase hexadecimal digits.
    public static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// What the listing of a release archive says about it: its unpacked size, or the first member a
/// release may not contain.
public struct ArchiveListing: Sendable, Equatable {
    /// Sum of the members' sizes, in bytes.
    public var unpackedBytes: Int
    /// Why the archive must not be unpacked (one sentence), if it must not.
    public var refusal: String?

    public init(unpackedBytes: Int, refusal: String?) {
        self.unpackedBytes = unpackedBytes
        self.refusal = refusal
    }

    /// Reads `tar --list --verbose --numeric-owner` output. Refused: device files, FIFOs, sockets,
    /// setuid/setgid bits, absolute names and names with a `..` component (for links: their
    /// targets too when tar shows them). Links that leave the release directory are also caught
    /// after unpacking, by a check of the tree itself.
    ///
    /// `errors` is what tar said while listing: it rewrites hard link targets that leave the top
    /// (and says "Removing leading …"), so that warning alone refuses the archive.
    public static func read(_ listing: String, errors: String = "") -> ArchiveListing {
        let members = read(members: listing)
        if members.refusal == nil,
           let warning = errors.split(whereSeparator: \.isNewline).first(where: { $0.contains("Removing leading") }) {
            let said = warning.firstRange(of: "Removing leading").map { String(warning[$0.lowerBound...]) } ?? String(warning)
            let what = said.contains("hard link") ? "a hard link in it points" : "a name in it points"
            return ArchiveListing(unpackedBytes: members.unpackedBytes, refusal: "\(what) outside the release directory (tar: \(said))")
        }
        return members
    }

    private static func read(members listing: String) -> ArchiveListing {
        var total = 0
        for line in listing.split(separator: "\n") where !line.isEmpty {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, let type = fields[0].first else {
                return ArchiveListing(unpackedBytes: total, refusal: "its listing has a line tar should not print ('\(line.prefix(100))')")
            }
            let mode = Array(fields[0])
            var name = String(fields[5])
            var target: String?
            switch type {
            case "-", "d": break
            case "l":
                if let range = name.firstRange(of: " -> ") { target = String(name[range.upperBound...]); name = String(name[..<range.lowerBound]) }
            case "h":
                if let range = name.firstRange(of: " link to ") { target = String(name[range.upperBound...]); name = String(name[..<range.lowerBound]) }
            case "c", "b": return ArchiveListing(unpackedBytes: total, refusal: "it contains the device file '\(name)'")
            case "p": return ArchiveListing(unpackedBytes: total, refusal: "it contains the FIFO '\(name)'")
            case "s": return ArchiveListing(unpackedBytes: total, refusal: "it contains the socket '\(name)'")
            default: return ArchiveListing(unpackedBytes: total, refusal: "it contains '\(name)' of a kind a release may not contain ('\(type)')")
            }
            if mode.count >= 10, mode[3] == "s" || mode[3] == "S" || mode[6] == "s" || mode[6] == "S" {
                return ArchiveListing(unpackedBytes: total, refusal: "'\(name)' has the setuid or setgid bit")
            }
            if leaves(name) { return ArchiveListing(unpackedBytes: total, refusal: "the name '\(name)' points outside the release directory") }
            if let target, type == "h" ? leaves(target) : leavesFrom(name, target) {
                return ArchiveListing(unpackedBytes: total, refusal: "the link '\(name)' points outside the release directory (to '\(target)')")
            }
            total += Int(fields[2]) ?? 0
        }
        return ArchiveListing(unpackedBytes: total, refusal: nil)
    }

    /// An absolute name, or one whose `..` components climb above the top.
    public static func leaves(_ name: String) -> Bool {
        if name.hasPrefix("/") { return true }
        var depth = 0
        for part in name.split(separator: "/") {
            if part == ".." { depth -= 1 } else if part != "." { depth += 1 }
            if depth < 0 { return true }
        }
        return false
    }

    /// Whether a symlink at `name` with relative `target` resolves above the top.
    public static func leavesFrom(_ name: String, _ target: String) -> Bool {
        if target.hasPrefix("/") { return true }
        let parent = name.split(separator: "/").dropLast().joined(separator: "/")
        return leaves(parent.isEmpty ? target : "\(parent)/\(target)")
    }
}
