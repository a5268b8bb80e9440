import ArgumentParser
import BerthControl
import BerthCore

/// Berth's documented exit codes (docs/cli.md). CI scripts rely on them: never renumber.
enum BerthExit {
    static let success: Int32 = 0
    static let hostFailed: Int32 = 1
    static let badInput: Int32 = 2
    static let lockHeld: Int32 = 3
    static let releaseNotFound: Int32 = 4
    static let unreachable: Int32 = 6
    /// Every host is done, but the release store could not be updated: hosts that were off will
    /// not catch up to this release.
    static let storeNotUpdated: Int32 = 7
    /// ssh reached a host but trust failed: its host key changed (or is unknown) or it refused
    /// this machine's key. Optional hosts too: this is never "offline".
    static let sshRejected: Int32 = 8
    /// The ssh user of some host is not root and cannot use sudo without a password.
    static let notRoot: Int32 = 9
    static let skippedOptional: Int32 = 10
    /// A `before_deploy` hook failed on this machine: no host was contacted.
    static let hookFailed: Int32 = 11
    /// Pre-flight checks failed (and no `--force`): no host was changed.
    static let preflightFailed: Int32 = 12

    /// The exit code that sums up a fleet's reports: the most serious state wins.
    static func code(for reports: [HostReport], engineStatuses: [Int32] = []) -> Int32 {
        if engineStatuses.contains(3) { return lockHeld }
        if engineStatuses.contains(4) { return releaseNotFound }
        if reports.contains(where: { $0.state == .sshRejected }) { return sshRejected }
        if engineStatuses.contains(EngineInvocation.notRootStatus) { return notRoot }
        if reports.contains(where: { [.failed, .rolledBack, .notStarted].contains($0.state) }) { return hostFailed }
        if reports.contains(where: { $0.state == .unreachable }) { return unreachable }
        if reports.contains(where: { $0.state == .skipped }) { return skippedOptional }
        return success
    }
}
