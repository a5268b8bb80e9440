import BerthCore

/// Checks a plan before the engine touches anything: every value that becomes a path, a unit
/// name, a port or a line in a generated file must be one the engine can use safely. The CLI's
/// config checks should make these failures impossible; the engine does not rely on it.
public enum PlanCheck {
    public static func validate(_ plan: DeployPlan, command: EngineCommand) throws(EngineError) {
        try validate(plan, kind: command == .rollback ? .rollback : command == .migrateRollback ? .migrateRollback
                               : command == .maintenance ? .maintenance : .deploy)
    }

    /// Checks a plan that must be of `expected` kind (`catch-up` plans come from the release store).
    public static func validate(_ plan: DeployPlan, kind expected: DeployPlan.Kind) throws(EngineError) {
        func fail(_ message: String) -> EngineError { .badInput("the \(expected.rawValue) plan is invalid: \(message).") }

        guard plan.schema == DeployPlan.currentSchema else {
            throw .badInput("the plan has schema \(plan.schema) but this engine reads schema \(DeployPlan.currentSchema); run a berth that matches the engine.")
        }
        guard plan.kind == expected else { throw fail("its kind is '\(plan.kind.rawValue)' but the command is '\(expected.rawValue)'") }
        guard isName(plan.host) else { throw fail("host '\(plan.host)' must be letters, digits, '.', '_' or '-'") }
        if let source = plan.catchUp { try validate(source, fail: fail) }
        for (what, value) in [("app", plan.app), ("env", plan.env)] where !HostLayout.isValidName(value) {
            throw fail("\(what) '\(value)' must be \(nameRule)")
        }
        for (what, path) in [("root", plan.root), ("systemdDir", plan.systemdDir), ("nginxDir", plan.nginxDir)] {
            guard path.hasPrefix("/"), !path.contains("\n"), !path.split(separator: "/").contains("..") else {
                throw fail("\(what) '\(path)' must be an absolute path")
            }
        }
        if let release = plan.release, plan.kind != .rollback {
            guard isName(release.id) else { throw fail("release id '\(release.id)' must be letters, digits, '.', '_' or '-'") }
        } else if let release = plan.release {
            // A rollback target is only looked up among kept releases (by id, label or id prefix).
            guard !release.id.isEmpty, !release.id.contains(where: { $0 == "/" || $0.isNewline }) else {
                throw fail("the release to roll back to must be an id or a label, not '\(release.id)'")
            }
        } else if plan.kind != .rollback, plan.kind != .migrateRollback, plan.kind != .maintenance {
            throw fail("a \(plan.kind.rawValue) needs a release")
        }
        if plan.kind == .maintenance {
            guard let change = plan.maintenance, (1...86_400).contains(change.retryAfterSeconds),
                  (change.page?.utf8.count ?? 0) <= MaintenanceConfig.maxPageBytes else {
                throw fail("a maintenance plan needs on/off, a Retry-After from 1 to 86400 s and a page of at most 1 MiB")
            }
        }
        if let migrate = plan.migrate {
            guard !migrate.command.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" }),
                  migrate.timeoutMs > 0 else { throw fail("the migration needs a command on one line and a positive timeout") }
            if let user = migrate.user, !ServiceSandbox.isUserName(user) {
                throw fail("the migration has user '\(user)'; a user name is lowercase letters, digits, '_' or '-', at most 32 characters")
            }
        } else if plan.kind == .migrateRollback {
            throw fail("a migrate-rollback plan needs the migrate_rollback command")
        }
        guard plan.keepReleases >= 1 else { throw fail("keepReleases must be at least 1, not \(plan.keepReleases)") }
        guard !plan.services.isEmpty || [.rollback, .migrateRollback, .maintenance].contains(plan.kind) else { throw fail("there are no services to run on this host") }

        var names: Set<String> = []
        var ports: [Int: String] = [:]
        for service in plan.services {
            guard HostLayout.isValidName(service.name) else { throw fail("service name '\(service.name)' must be \(nameRule)") }
            guard names.insert(service.name).inserted else { throw fail("service '\(service.name)' appears twice") }
            guard !service.command.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" }),
                  !service.command.allSatisfy({ $0 == " " || $0 == "\t" }) else {
                throw fail("service '\(service.name)' needs a command on one line")
            }
            if let user = service.user, !ServiceSandbox.isUserName(user) {
                throw fail("service '\(service.name)' has user '\(user)'; a user name is lowercase letters, digits, '_' or '-', at most 32 characters")
            }
            for directive in service.hardening ?? [] {
                guard ServiceSandbox.isDirectiveName(directive.name), !ServiceSandbox.reserved.contains(directive.name),
                      ServiceSandbox.isDirectiveValue(directive.value) else {
                    throw fail("service '\(service.name)' has the hardening directive '\(directive.name)', which is not a sandbox directive on one line")
                }
            }
            guard service.stopTimeoutMs > 0 else { throw fail("service '\(service.name)' needs a positive stopTimeoutMs") }
            if let port = service.port {
                guard (1...65_534).contains(port) else { throw fail("service '\(service.name)' has port \(port); ports go from 1 to 65534 (green uses port + 1)") }
                for slotPort in [port, port + 1] {
                    if let other = ports[slotPort] {
                        throw fail("services '\(other)' and '\(service.name)' both use port \(slotPort) (each service takes its port and the next one, for the green slot)")
                    }
                    ports[slotPort] = service.name
                }
            }
            if let health = service.health {
                guard health.path.hasPrefix("/"), !health.path.unicodeScalars.contains(where: { $0 == " " || $0 == "\n" || $0 == "\r" }) else {
                    throw fail("service '\(service.name)' has health path '\(health.path)'; it must start with '/' and hold no spaces")
                }
                guard health.attempts >= 1, health.intervalMs >= 0, health.timeoutMs >= 1 else {
                    throw fail("service '\(service.name)' needs attempts ≥ 1, intervalMs ≥ 0 and timeoutMs ≥ 1 in its health check")
                }
            }
        }
        if let proxy = plan.proxy {
            guard (1...65_535).contains(proxy.listen) else { throw fail("proxy listen port \(proxy.listen) is not a port") }
            for site in proxy.sites {
                guard let service = plan.services.first(where: { $0.name == site.service }), service.proxied, service.port != nil else {
                    throw fail("a proxy site routes to '\(site.service)', which is not a proxied service with a port on this host")
                }
                guard !site.domains.isEmpty, site.domains.allSatisfy(isDomain) else {
                    throw fail("the proxy site of '\(site.service)' needs domains made of letters, digits, '.', '-', '_' or '*'")
                }
            }
        }
        for variable in plan.environment {
            guard EnvironmentFile.isValidName(variable.name) else {
                throw fail("'\(variable.name)' is not a valid environment variable name (letters, digits and '_', not starting with a digit)")
            }
            guard !variable.value.contains("\0") else { throw fail("the value of \(variable.name) contains a NUL byte") }
        }
        for dir in plan.sharedDirs {
            let parts = dir.split(separator: "/", omittingEmptySubsequences: false)
            guard !dir.isEmpty, !dir.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }),
                  !dir.contains("\n") else {
                throw fail("shared directory '\(dir)' must be a relative path inside the release, without '..'")
            }
        }
    }

    /// Where a host catches up from: every value ends up in an ssh argv or a unit file.
    static func validate(_ source: CatchUpSource, fail: (String) -> EngineError) throws(EngineError) {
        guard !source.address.isEmpty, !source.address.hasPrefix("-"),
              !source.address.contains(where: { $0 == " " || $0.isNewline || $0 == "\0" }) else {
            throw fail("the release store address '\(source.address)' must be one word not starting with '-'")
        }
        guard isName(source.user) else { throw fail("the release store user '\(source.user)' must be letters, digits, '.', '_' or '-'") }
        guard (1...65_535).contains(source.port) else { throw fail("the release store port \(source.port) is not a port") }
        guard isStorePath(source.path) else { throw fail("the release store path '\(source.path)' must be an absolute path of letters, digits, '/', '.', '_' or '-'") }
        guard source.waitMs >= 0 else { throw fail("the release store wait must not be negative") }
        for key in source.hostKeys ?? [] {
            let words = key.split(separator: " ")
            guard words.count == 2, !key.contains(where: { $0.isNewline || $0 == "\0" }) else {
                throw fail("a release store host key must be 'type base64' on one line, not '\(key.prefix(60))'")
            }
        }
        if let signer = source.signer {
            let words = signer.split(separator: " ")
            guard words.count >= 2, words[0].hasPrefix("ssh-"), !signer.contains(where: { $0.isNewline || $0 == "\0" || $0 == "\"" }) else {
                throw fail("the deploy key that signs plans must be one 'ssh-… base64' line, not '\(signer.prefix(60))'")
            }
        }
        if let issued = source.issuedAt, issued.isEmpty || issued.count > 40
            || !issued.unicodeScalars.allSatisfy({ isAlphanumeric($0) || ":.-+".unicodeScalars.contains($0) }) {
            throw fail("the plan's date '\(issued.prefix(60))' must be an ISO 8601 time")
        }
        if let webhook = source.webhook, webhook.contains(where: { $0.isNewline || $0 == "\0" }) {
            throw fail("the webhook must be one line")
        }
    }

    public static func validate(_ request: PublishRequest) throws(EngineError) {
        func fail(_ message: String) -> EngineError { .badInput("the publish request is invalid: \(message).") }
        for (what, value) in [("app", request.app), ("env", request.env)] where !HostLayout.isValidName(value) {
            throw fail("\(what) '\(value)' must be \(nameRule)")
        }
        guard isName(request.release.id) else { throw fail("release id '\(request.release.id)' must be letters, digits, '.', '_' or '-'") }
        guard isStorePath(request.path) else { throw fail("the store path '\(request.path)' must be an absolute path of letters, digits, '/', '.', '_' or '-'") }
        guard isStorePath(request.root) else { throw fail("root '\(request.root)' must be an absolute path") }
        guard request.keep >= 1 else { throw fail("keep must be at least 1") }
        for plan in request.plans {
            guard plan.app == request.app, plan.env == request.env, plan.release?.id == request.release.id else {
                throw fail("the plan of host '\(plan.host)' is for another app, environment or release")
            }
            try validate(plan, kind: .deploy)
        }
        for signed in request.signed ?? [] where !request.plans.contains(where: { $0.host == signed.host }) {
            throw fail("a signed plan is for host '\(signed.host)', which has no plan")
        }
        for (host, addresses) in request.fromAddresses ?? [:] where !isName(host) || addresses.contains(where: { !CatchUpUnit.isIPLiteral($0) }) {
            throw fail("the addresses of host '\(host)' must be IP literals")
        }
        for key in request.keys where !isName(key.host) || key.publicKey.contains(where: { $0.isNewline }) {
            throw fail("the catch-up key of host '\(key.host)' must be one line")
        }
    }

    public static func validate(_ query: StoreQuery) throws(EngineError) {
        for (what, value) in [("app", query.app), ("env", query.env)] where !HostLayout.isValidName(value) {
            throw .badInput("the store query is invalid: \(what) '\(value)' must be \(nameRule).")
        }
        guard isStorePath(query.path) else { throw .badInput("the store query is invalid: path '\(query.path)' must be an absolute path.") }
    }

    /// An absolute path that is safe inside an `authorized_keys` forced command and a unit file.
    static func isStorePath(_ path: String) -> Bool {
        path.hasPrefix("/") && !path.split(separator: "/").contains("..")
            && path.unicodeScalars.allSatisfy { isAlphanumeric($0) || "/._-".unicodeScalars.contains($0) }
    }

    public static func validate(_ query: StateQuery) throws(EngineError) {
        for (what, value) in [("app", query.app), ("env", query.env)] where !HostLayout.isValidName(value) {
            throw .badInput("the query is invalid: \(what) '\(value)' must be \(nameRule).")
        }
        for (what, path) in [("root", query.root), ("systemdDir", query.systemdDir), ("nginxDir", query.nginxDir)] {
            guard let path else { continue }
            guard path.hasPrefix("/"), !path.contains("\n"), !path.split(separator: "/").contains("..") else {
                throw .badInput("the query is invalid: \(what) '\(path)' must be an absolute path.")
            }
        }
        if let limit = query.limit, limit < 0 { throw .badInput("the query is invalid: limit must not be negative.") }
    }

    /// How app, environment and service names are made (`HostLayout.isValidName`): without `.`, which
    /// joins them in unit, site and upstream names, so no two app environments share one.
    static let nameRule = "1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit"

    /// A safe file name (hosts, release ids): `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 100 characters.
    static func isName(_ value: String) -> Bool {
        guard let first = value.unicodeScalars.first, isAlphanumeric(first), value.unicodeScalars.count <= 100 else { return false }
        return value.unicodeScalars.allSatisfy { isAlphanumeric($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    static func isDomain(_ value: String) -> Bool {
        !value.isEmpty && value.unicodeScalars.allSatisfy { isAlphanumeric($0) || ".-_*".unicodeScalars.contains($0) }
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}
