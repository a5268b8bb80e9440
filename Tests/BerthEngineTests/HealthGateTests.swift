import BerthCore
import BerthEngine
import Foundation
import Testing

/// The example app, run on a free loopback port, to probe for real.
final class ExampleApp {
    let process = Process()
    let port: Int

    init(port: Int, failHealth: Bool = false) throws {
        self.port = port
        let app = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Examples/hello/app/server.py").standardized.path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", app]
        var environment = ProcessInfo.processInfo.environment
        environment["PORT"] = "\(port)"
        environment["HELLO_FAIL_HEALTH"] = failHealth ? "1" : "0"
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let probe = HTTPProbe()
        guard waitUntil(seconds: 10, { probe.get(port: port, path: "/", timeoutMilliseconds: 500) != .refused }) else {
            throw POSIXFailure("the example app did not listen on \(port)")
        }
    }

    func stop() {
        // SIGKILL: children of the test process start with SIGTERM blocked (Foundation's Process).
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// A listener that accepts connections and never answers.
final class SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 8) == 0 else { throw POSIXFailure("listen") }
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

func freePort() throws -> Int {
    let listener = try SilentListener()
    return listener.port
}

@Suite(.serialized) struct HealthGateTests {
    let layout = HostLayout(root: "/nonexistent", app: "hello", env: "production")

    func service(port: Int, attempts: Int = 5, timeoutMs: Int = 500) -> ServicePlan {
        ServicePlan(name: "web", command: "python3 server.py", port: port,
                    health: HealthCheck(path: "/health", intervalMs: 20, timeoutMs: timeoutMs, attempts: attempts),
                    proxied: true, stopTimeoutMs: 1000)
    }

    @Test func healthyAppPasses() async throws {
        let app = try ExampleApp(port: try freePort())
        defer { app.stop() }
        #expect(HTTPProbe().get(port: app.port, path: "/health", timeoutMilliseconds: 1000) == .status(200, reason: "OK"))
        let system = FakeSystem()
        system.active = ["hello.production.web@blue.service"]
        try await HealthGate(system: system, layout: layout).check([service(port: app.port)], slot: .blue)
    }

    @Test func non2xxFailsAfterAllAttemptsWithTheJournal() async throws {
        let app = try ExampleApp(port: try freePort(), failHealth: true)
        defer { app.stop() }
        let system = FakeSystem()
        system.active = ["hello.production.web@blue.service"]
        let error = await #expect(throws: StepFailure.self) {
            try await HealthGate(system: system, layout: layout).check([service(port: app.port, attempts: 3)], slot: .blue)
        }
        #expect(error?.message.hasPrefix("hello.production.web@blue.service failed its health check: GET http://127.0.0.1:\(app.port)/health got 503 Service Unavailable on all 3 attempts in ") == true)
        #expect(error?.journal == system.journalLines)
    }

    @Test func silentServerTimesOut() async throws {
        let listener = try SilentListener()
        let started = Date()
        #expect(HTTPProbe().get(port: listener.port, path: "/health", timeoutMilliseconds: 200) == .timedOut)
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 0.19 && elapsed < 1.0)
    }

    @Test func nothingListeningIsRefused() throws {
        #expect(HTTPProbe().get(port: try freePort(), path: "/health", timeoutMilliseconds: 200) == .refused)
    }

    @Test func crashedUnitFailsFastWithoutUsingAllAttempts() async throws {
        let system = FakeSystem()
        system.crashing = ["hello.production.web@green.service"]
        let started = Date()
        let error = await #expect(throws: StepFailure.self) {
            try await HealthGate(system: system, layout: layout).check([service(port: try freePort(), attempts: 100)], slot: .green)
        }
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(error?.message == "hello.production.web@green.service stopped right after it started (exit-code); see its journal below.")
    }

    @Test func serviceWithoutPortPassesWhileActive() async throws {
        let system = FakeSystem()
        system.active = ["hello.production.worker@blue.service"]
        try await HealthGate(system: system, layout: layout).check([Samples.worker], slot: .blue)
        system.active = []
        await #expect(throws: StepFailure.self) {
            try await HealthGate(system: system, layout: layout).check([Samples.worker], slot: .blue)
        }
    }
}
