/// The account and systemd sandbox of one service: the `User=` and hardening lines of its unit.
/// Pure: `SystemdUnit` renders what this returns.
///
/// By default a service runs as the app environment's own system user (no login shell, no home),
/// can write only its shared directories and its private `/tmp`, cannot gain privileges, sees no
/// home directories, devices, kernel tunables or other users' processes, and may only make the
/// system calls of an ordinary service. That is what a Python, Node, Ruby or Go web app needs;
/// `hardening:` replaces single directives and `sandbox: false` drops the defaults.
public enum ServiceSandbox {
    /// The defaults, in the order a unit lists them. Not `RemoveIPC=`: both slots of a service run
    /// as one user, and stopping the old slot would remove the new slot's semaphores and shared memory. `ReadWritePaths=` (the shared directories) is
    /// added by `directives(for:layout:)`, because it depends on the layout.
    public static let defaults: [UnitDirective] = [
        UnitDirective("NoNewPrivileges", "yes"),
        UnitDirective("ProtectSystem", "strict"),
        UnitDirective("ProtectHome", "yes"),
        UnitDirective("PrivateTmp", "yes"),
        UnitDirective("PrivateDevices", "yes"),
        UnitDirective("PrivateMounts", "yes"),
        UnitDirective("ProtectKernelTunables", "yes"),
        UnitDirective("ProtectKernelModules", "yes"),
        UnitDirective("ProtectKernelLogs", "yes"),
        UnitDirective("ProtectControlGroups", "yes"),
        UnitDirective("ProtectClock", "yes"),
        UnitDirective("ProtectHostname", "yes"),
        UnitDirective("ProtectProc", "invisible"),
        UnitDirective("RestrictSUIDSGID", "yes"),
        UnitDirective("RestrictRealtime", "yes"),
        UnitDirective("RestrictNamespaces", "yes"),
        UnitDirective("LockPersonality", "yes"),
        UnitDirective("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6 AF_NETLINK"),
        UnitDirective("SystemCallArchitectures", "native"),
        UnitDirective("SystemCallFilter", "@system-service"),
        UnitDirective("SystemCallFilter", "~@privileged"),
        // A call outside the filter fails with EPERM instead of killing the process: runtimes probe
        // for optional calls (setrlimit, io_uring…) and carry on without them.
        UnitDirective("SystemCallErrorNumber", "EPERM"),
        UnitDirective("CapabilityBoundingSet", ""),
        UnitDirective("UMask", "0027"),
    ]

    /// The account systemd starts the service as; nil: root (no `User=` line).
    public static func user(for service: ServicePlan, layout: HostLayout) -> String? {
        let account = service.account(in: layout)
        return account == "root" ? nil : account
    }

    /// The hardening lines of the service's unit: the defaults (unless `sandbox: false`) with each
    /// `hardening:` directive replacing every default of the same name, or added at the end.
    /// A service that runs as root keeps its capabilities: whoever writes `user: root` wants them.
    public static func directives(for service: ServicePlan, layout: HostLayout) -> [UnitDirective] {
        var result: [UnitDirective] = []
        if service.sandbox ?? true {
            for directive in defaults {
                if directive.name == "CapabilityBoundingSet", user(for: service, layout: layout) == nil { continue }
                result.append(directive)
                if directive.name == "ProtectSystem" {
                    // `-`: a missing directory is not an error (an app without shared directories).
                    result.append(UnitDirective("ReadWritePaths", "-\(layout.sharedDir)"))
                }
            }
        }
        for override in service.hardening ?? [] {
            if let index = result.firstIndex(where: { $0.name == override.name }) {
                result.removeAll { $0.name == override.name }
                result.insert(override, at: min(index, result.count))
            } else {
                result.append(override)
            }
        }
        return result
    }

    /// Whether `name` can be a `[Service]` directive: ASCII letters only, starting with a capital
    /// (`ProtectSystem`), so it can never start a new section or line.
    public static func isDirectiveName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("A"..."Z").contains(first), name.utf8.count <= 64 else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) }
    }

    /// Whether `value` fits on one unit-file line: no line break or NUL, and no trailing backslash
    /// (which would continue the line).
    public static func isDirectiveValue(_ value: String) -> Bool {
        !value.unicodeScalars.contains { $0 == "\n" || $0 == "\r" || $0 == "\0" } && !value.hasSuffix("\\")
    }

    /// A portable user name, as `useradd` accepts it: a lowercase letter or `_`, then lowercase
    /// letters, digits, `_` or `-`, at most 32 characters.
    public static func isUserName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || ("a"..."z").contains(first), name.utf8.count <= 32 else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0 == "-" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }

    /// The directives a service may not override: they are how Berth runs and supervises it.
    public static let reserved: Set<String> = [
        "User", "Group", "DynamicUser", "Type", "ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecReload",
        "WorkingDirectory", "EnvironmentFile", "Environment", "Restart", "RestartSec", "TimeoutStopSec", "KillSignal",
    ]
}
