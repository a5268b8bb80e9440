import BerthCore

/// Why an engine command stopped before it could report an outcome. Each case maps to the exit
/// status `berth` acts on; `description` is the one sentence shown to the user.
public enum EngineError: Error, Equatable, CustomStringConvertible {
    /// The input on stdin, or the command line, is not what the command takes.
    case badInput(String)
    /// A live engine holds the deploy lock (`releasing`: `lock-release` was asked to remove it).
    case lockHeld(LockInfo, releasing: Bool)
    /// The release asked for is not kept on this host.
    case releaseNotOnHost(requested: String?, kept: [ReleaseRef], current: String?, where: String = "on this host")
    /// Something the engine did not expect (an unreadable manifest, a full disk…).
    case `internal`(String)
    /// The deploy would take what another app environment or program on the host has (a domain,
    /// a port, a unit or site file); refused before anything changed. The message names both.
    case conflict(String)

    public var exitCode: Int32 {
        switch self {
        case .badInput: EngineExit.badInput
        case .lockHeld: EngineExit.lockHeld
        case .releaseNotOnHost: EngineExit.releaseNotOnHost
        case .internal: EngineExit.internalFailure
        case .conflict: EngineExit.failed
        }
    }

    public var description: String {
        switch self {
        case let .badInput(message):
            return message
        case let .lockHeld(info, releasing):
            if releasing {
                return "a running deploy holds the lock (\(DeployLockText.holder(info))), so it is not stale and stays; wait for that deploy to finish."
            }
            return "another deploy holds the lock: \(DeployLockText.holder(info)); wait for it to finish."
        case let .releaseNotOnHost(requested, kept, current, place):
            let others = kept.filter { $0.id != current }
            let list = others.isEmpty ? "none besides the current one" : others.map(DeployLockText.release).joined(separator: ", ")
            if let requested {
                return "release '\(requested)' is not kept \(place); kept releases: \(list)."
            }
            return "there is no earlier release \(place) to roll back to; kept releases: \(list)."
        case let .internal(message), let .conflict(message):
            return message.hasSuffix(".") ? message : message + "."
        }
    }
}

/// Exit statuses of `berth-engine`.
public enum EngineExit {
    /// Done, or nothing needed doing.
    public static let ok: Int32 = 0
    /// The deploy or rollback failed; the previous release still serves (or nothing served before).
    public static let failed: Int32 = 1
    public static let badInput: Int32 = 2
    public static let lockHeld: Int32 = 3
    public static let releaseNotOnHost: Int32 = 4
    public static let internalFailure: Int32 = 5
    /// A catch-up could not reach the release store; the host stays on its release.
    public static let storeUnreachable: Int32 = 75
}

/// How the lock's holder and releases read in messages.
enum DeployLockText {
    static func holder(_ info: LockInfo) -> String {
        guard let holder = info.holder else { return "a deploy that has not said who it is" }
        var text = "\(holder.user)@\(holder.machine) (pid \(holder.pid), '\(holder.command)')"
        if let since = info.since { text += " since \(since)" }
        return text
    }

    /// A release as messages name it: the short id, and the label where it says more.
    static func release(_ release: ReleaseRef) -> String {
        let short = ReleaseRef.shortID(release.id)
        return release.label == release.id || release.label == short ? short : "\(short) (\(release.label))"
    }
}
