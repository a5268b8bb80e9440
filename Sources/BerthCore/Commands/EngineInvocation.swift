/// The remote commands Berth runs on a host. Each is a fixed program with fixed words; everything
/// from the app file travels as JSON on stdin.
public struct EngineInvocation: Sendable, Equatable {
    public let root: String
    /// SHA-256 of the engine binary that must run on the host.
    public let engineSHA256: String

    public init(root: String = HostLayout.defaultRoot, engineSHA256: String) {
        self.root = root
        self.engineSHA256 = engineSHA256
    }

    public var enginePath: String { HostLayout.enginePath(root: root, sha256: engineSHA256) }

    /// Runs one engine command; exit status 127 means this engine version is not installed yet.
    public func command(_ command: EngineCommand) -> [String] {
        [enginePath, command.rawValue]
    }

    /// Installs the engine from a gzip stream on stdin: unpack beside the target, then rename, so a
    /// broken upload never leaves a file at the path that `command(_:)` runs.
    /// Older engines are removed: a host keeps only the engine the controller last used, and
    /// `<root>/engine/berth-engine` (which boot-time units and forced commands run) points at it.
    public func install() -> [String] {
        let script = #"""
        set -eu
        mkdir -p "$1"
        tmp="$1/.upload-$$"
        gzip -dc > "$tmp"
        chmod 0755 "$tmp"
        mv -f "$tmp" "$2"
        ln -sfn "$2" "$1/.link-$$" && mv -Tf "$1/.link-$$" "$1/berth-engine"
        for old in "$1"/berth-engine-*; do [ "$old" = "$2" ] || rm -f "$old"; done
        """#
        return ["sh", "-c", script, "berth-engine-install", "\(root)/engine", enginePath]
    }

    /// The exit status with which a missing engine binary shows (the shell's "command not found").
    public static let notInstalledStatus: Int32 = 127
}
