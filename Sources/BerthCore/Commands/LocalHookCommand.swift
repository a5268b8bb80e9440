/// A hook on the deploying machine (`before_deploy`, `after_deploy`): `/bin/sh -c` under
/// coreutils' `timeout`, which stops it (TERM, then KILL 5 s later) when its time is up and then
/// exits 124. The facts it gets are plain (`BERTH_APP`, `BERTH_ENV`, `BERTH_RESULT`), never a
/// setting or secret of the env files. Builds argv only.
public enum LocalHookCommand {
    /// `timeout`'s exit status when the time limit ended the command.
    public static let timedOutStatus: Int32 = 124

    public static func argv(_ hook: Hook, facts: [EnvVar]) -> [String] {
        ["env"] + facts.map { "\($0.name)=\($0.value)" }
            + ["timeout", "--kill-after=5s", SystemdUnit.timeSpan(milliseconds: hook.timeoutMs), "/bin/sh", "-c", hook.command]
    }
}
