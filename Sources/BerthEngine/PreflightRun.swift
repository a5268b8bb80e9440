import BerthCore
import Glibc

/// The host's part of pre-flight, changing nothing: free disk where releases and shared files
/// live, nginx accepting the host's current sites, no conflict with another app or process over
/// domains, ports and files, and the services the release needs reachable from here. Every
/// failure is a finding; all of them are reported at once.
struct PreflightRun {
    let plan: DeployPlan
    let system: any SystemControl
    var reachTimeoutMilliseconds = 2_000

    func findings() async -> [PreflightFinding] {
        let layout = plan.layout
        let checks = plan.preflight ?? PreflightChecks(minimumFreeBytes: PreflightConfig.defaultMinimumFreeBytes)
        var found: [PreflightFinding] = []
        func add(_ check: String, _ message: String, _ fix: String) {
            found.append(PreflightFinding(check: check, host: plan.host, message: message, fix: fix))
        }

        for (path, free) in Self.freeSpace([layout.appDir, layout.sharedDir]) where free < checks.minimumFreeBytes {
            add("disk", "only \(Self.size(free)) free on the file system of \(path); a deploy needs \(Self.size(checks.minimumFreeBytes))",
                "free space there, or set preflight.disk_free lower")
        }
        if let maintenance = MaintenanceMode.state(layout) {
            add("maintenance", "maintenance mode is on since \(maintenance.since) (turned on by \(maintenance.requestedBy.user)@\(maintenance.requestedBy.machine))",
                "run 'berth maintenance off' first, or deploy with --force (the site stays in maintenance)")
        }
        var nginxLoads = true
        if plan.proxy != nil, let complaint = await system.testNginx(serving: []) {
            nginxLoads = false
            add("nginx", "nginx -t fails with the sites this host has now: \(complaint)",
                "fix or remove the site nginx names (Berth would not be able to switch)")
        }
        // The checks a host makes again when it starts the release, each on its own, so that
        // every conflict shows (the activation stops at the first).
        let manifest = try? StateStore(layout: layout).manifest()
        let idle = manifest?.activeSlot?.other ?? .blue
        let host = HostCheck(plan: plan, system: system)
        let mine = Ownership(plan: plan, services: plan.services)
        var conflicts: [EngineError] = []
        do { try host.refuseOwned(mine, neighbours: OwnershipStore(layout: layout).neighbours()) } catch { conflicts.append(error) }
        do { try host.refuseForeignFiles(mine) } catch { conflicts.append(error) }
        if let proxy = plan.proxy, nginxLoads {
            do { try await host.refuseSiteConflicts(proxy: proxy, services: plan.services) } catch { conflicts.append(error) }
        }
        do { try await host.refuseTakenPorts(services: plan.services, slot: idle) } catch { conflicts.append(error) }
        for conflict in conflicts {
            add("conflict", conflict.description.trimmingCharacters(in: "."), "the message says what to change")
        }
        for endpoint in checks.reach {
            if let problem = Self.reach(endpoint.host, endpoint.port, timeoutMilliseconds: reachTimeoutMilliseconds) {
                add("reach", "\(endpoint.variable) names \(endpoint.host):\(endpoint.port), which this host cannot reach (\(problem))",
                    "start that service or make it reachable from \(plan.host), or fix \(endpoint.variable)")
            }
        }
        return found
    }

    /// Free bytes (for unprivileged users too) of each path's file system, once per file system,
    /// measured at the nearest directory that exists.
    static func freeSpace(_ paths: [String]) -> [(String, Int)] {
        var seen: Set<UInt> = []
        var result: [(String, Int)] = []
        for path in paths {
            var probe = path
            while !Files.exists(probe), probe != "/" { probe = Files.directory(of: probe) }
            var stats = statvfs()
            guard statvfs(probe, &stats) == 0, seen.insert(stats.f_fsid).inserted else { continue }
            result.append((probe, Int(stats.f_bavail) * Int(stats.f_frsize)))
        }
        return result
    }

    static func size(_ bytes: Int) -> String {
        let gib = Double(bytes) / Double(1 << 30)
        if gib >= 1 { return "\(Double(Int(gib * 10)) / 10) GiB" }
        return "\(bytes >> 20) MiB"
    }

    /// nil when a TCP connection to `host:port` opens within the time limit, else why not.
    static func reach(_ host: String, _ port: Int, timeoutMilliseconds: Int) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else { return "cannot resolve \(host): \(String(cString: gai_strerror(status)))" }
        defer { freeaddrinfo(list) }
        var last = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        let clock = Stopwatch()
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return nil }
            guard errno == EINPROGRESS else { last = String(cString: strerror(errno)); continue }
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let left = Int32(clamping: max(timeoutMilliseconds - clock.milliseconds, 0))
            guard poll(&descriptor, 1, left) > 0 else { last = "no answer within \(timeoutMilliseconds) ms"; continue }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == 0 { return nil }
            last = String(cString: strerror(error))
        }
        return last.lowercased()
    }
}
