import BerthCore
import FoundationEssentials

/// `manifest.json` (what runs now) and `history.jsonl` (every deploy) of one app environment.
public struct StateStore {
    public let layout: HostLayout

    public init(layout: HostLayout) {
        self.layout = layout
    }

    /// The manifest, or nil if this environment was never deployed here.
    public func manifest() throws(EngineError) -> Manifest? {
        try EngineJSON.decodeFile(Manifest.self, at: layout.manifestFile, remedy: "the next deploy rebuilds it from what serves")
    }

    /// Replaces the manifest in one rename, synced, so a crash leaves the old or the new one.
    public func save(_ manifest: Manifest) throws(SystemCallError) {
        let json = (try? EngineJSON.encodeLine(manifest)) ?? "{}"
        try Files.writeAtomically(layout.manifestFile, json + "\n", mode: 0o644, durable: true)
    }

    /// Adds one line to the history with a single `O_APPEND` write.
    public func append(_ entry: HistoryEntry) throws(SystemCallError) {
        let json = (try? EngineJSON.encodeLine(entry)) ?? "{}"
        try Files.append(layout.historyFile, json + "\n")
    }

    /// History entries, newest first; lines that cannot be read (a torn last line) are skipped.
    public func history(limit: Int? = nil) throws(SystemCallError) -> [HistoryEntry] {
        guard let bytes = try Files.read(layout.historyFile) else { return [] }
        var entries: [HistoryEntry] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")).reversed() {
            if let limit, entries.count >= limit { break }
            if let entry = try? EngineJSON.decode(HistoryEntry.self, from: Array(line)) { entries.append(entry) }
        }
        return entries
    }
}
