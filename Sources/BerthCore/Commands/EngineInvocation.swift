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

    /// Runs one engine command, but only if the file at `enginePath` is this engine: its SHA-256
    /// is checked first (reading the file, not stdin, which carries the plan). Exit status 127
    /// means this engine is not installed yet, or the file there was not it (then it is removed
    /// and says so on stderr): either way the controller installs it again.
    public func command(_ command: EngineCommand) -> [String] {
        ["sh", "-c", Self.checkedExec, "berth-engine", enginePath, engineSHA256, command.rawValue]
    }

    /// `$1` the engine, `$2` its SHA-256, `$3` the command.
    static let checkedExec = #"""
    [ -f "$1" ] || exit 127
    sum=$(sha256sum < "$1") || exit 127
    if [ "${sum%% *}" != "$2" ]; then
      rm -f "$1"
      echo "berth-engine: $1 does not match its SHA-256 (${sum%% *}); it was removed" >&2
      exit 127
    fi
    exec "$1" "$3"
    """#

    /// What the check of `command(_:)` prints on stderr when it removed a file that was not the engine.
    public static let mismatchMarker = "does not match its SHA-256"

    /// Installs the engine from a gzip stream on stdin: unpack beside the target, check its SHA-256,
    /// then rename, so a broken upload never leaves a file at the path that `command(_:)` runs.
    /// Older engines are removed: a host keeps only the engine the controller last used, and
    /// `<root>/engine/berth-engine` (which boot-time units and forced commands run) points at it.
    public func install() -> [String] {
        let script = #"""
        set -eu
        mkdir -p "$1"
        tmp="$1/.upload-$$"
        gzip -dc > "$tmp"
        sum=$(sha256sum < "$tmp")
        if [ "${sum%% *}" != "$3" ]; then
          rm -f "$tmp"
          echo "berth-engine-install: the uploaded engine's SHA-256 is ${sum%% *}, not $3; nothing was installed" >&2
          exit 1
        fi
        chmod 0755 "$tmp"
        mv -f "$tmp" "$2"
        ln -sfn "$2" "$1/.link-$$" && mv -Tf "$1/.link-$$" "$1/berth-engine"
        for old in "$1"/berth-engine-*; do [ "$old" = "$2" ] || rm -f "$old"; done
        """#
        return ["sh", "-c", script, "berth-engine-install", "\(root)/engine", enginePath, engineSHA256]
    }

    /// The exit status with which a missing engine binary shows (the shell's "command not found").
    public static let notInstalledStatus: Int32 = 127

    /// Runs `argv` as root on the host: as it is when the ssh user is root, else through `sudo -n`
    /// (never asking for a password). A program that is not there still exits 127, so a missing
    /// engine is installed the same way; an ssh user that may not use sudo without a password
    /// exits `notRootStatus` and prints one line, `<user>: <what sudo said>`.
    public static func asRoot(_ argv: [String]) -> [String] {
        let script = #"""
        [ "$(id -u)" -eq 0 ] && exec "$@"
        command -v "$1" >/dev/null 2>&1 || exit 127
        if ! command -v sudo >/dev/null 2>&1; then echo "$(id -un): sudo is not installed" >&2; exit 77; fi
        if ! said=$(sudo -n true 2>&1); then echo "$(id -un): $(printf '%s' "$said" | head -n 1)" >&2; exit 77; fi
        exec sudo -n -- "$@"
        """#
        return ["sh", "-c", script, "berth-as-root"] + argv
    }

    /// How `asRoot` exits when the ssh user is not root and cannot use sudo without a password.
    public static let notRootStatus: Int32 = 77
}
