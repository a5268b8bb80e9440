/// Why the controller side of a command stopped. Each prints as one sentence saying what to do.
public enum ControlError: Error, Equatable, CustomStringConvertible {
    case engineNotFound(searched: [String])
    case releaseDirectoryMissing(String)
    case buildFailed(command: String, status: Int32, output: String)
    case packingFailed(directory: String, reason: String)
    case toolFailed(tool: String, reason: String)

    public var description: String {
        switch self {
        case let .engineNotFound(searched):
            "no static host engine found (looked at \(searched.joined(separator: ", "))); build it with 'scripts/build' or set BERTH_ENGINE to its path."
        case let .releaseDirectoryMissing(path):
            "the release directory \(path) does not exist; check 'release.path' in the app file."
        case let .buildFailed(command, status, output):
            "the release build command '\(command)' exited with \(status), so nothing was deployed:\n\(output)"
        case let .packingFailed(directory, reason):
            "could not pack the release from \(directory): \(reason)"
        case let .toolFailed(tool, reason):
            "'\(tool)' failed on this machine: \(reason)"
        }
    }
}
