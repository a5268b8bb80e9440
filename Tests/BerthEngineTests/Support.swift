import BerthCore
import BerthEngine
import Foundation
import Testing

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ label: String = "berth-engine-tests") throws {
        var template = Array("/tmp/\(label)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXFailure("mkdtemp") }
        path = String(cString: made)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

struct POSIXFailure: Error, CustomStringConvertible {
    let description: String
    init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
}

/// Compares `actual` with `Golden/<name>` byte for byte. `BERTH_UPDATE_GOLDEN=1` rewrites the file
/// instead (then read the diff before committing it).
func expectGolden(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)").path
    if ProcessInfo.processInfo.environment["BERTH_UPDATE_GOLDEN"] == "1" {
        try actual.write(toFile: path, atomically: true, encoding: .utf8)
        return
    }
    let expected = try String(contentsOfFile: path, encoding: .utf8)
    #expect(actual == expected, "rendered text differs from Golden/\(name)", sourceLocation: sourceLocation)
}

/// Runs a program and waits, returning its exit status and output.
@discardableResult
func runProgram(_ argv: [String], stdin: String? = nil, environment: [String: String]? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : "/usr/bin/env")
    process.arguments = argv[0].hasPrefix("/") ? Array(argv.dropFirst()) : argv
    if let environment { process.environment = environment }
    let output = Pipe(), error = Pipe(), input = Pipe()
    process.standardOutput = output
    process.standardError = error
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

enum Samples {
    static let requester = Requester(user: "alice", machine: "laptop", pid: 4242, command: "berth deploy -e production")

    static let web = ServicePlan(name: "web", command: "python3 server.py", port: 8000,
                                 health: HealthCheck(path: "/health", intervalMs: 100, timeoutMs: 2000, attempts: 100),
                                 proxied: true, stopTimeoutMs: 10_000)
    /// On ports nothing on a test machine listens on: the engine checks they are free before it starts a slot.
    static let unprobedWeb = ServicePlan(name: "web", command: "python3 server.py", port: 47010, health: nil,
                                         proxied: true, stopTimeoutMs: 10_000)
    static let worker = ServicePlan(name: "worker", command: "python3 worker.py", port: nil, health: nil,
                                    proxied: false, stopTimeoutMs: 1500)
    static let proxy = ProxyConfig(listen: 80, sites: [ProxySite(domains: ["hello.test", "www.hello.test"], service: "web")])

    static func release(_ id: String, label: String? = nil) -> ReleaseRef {
        ReleaseRef(id: id, label: label ?? id, gitSHA: nil, createdAt: "2025-01-02T03:04:05Z", archiveBytes: 1234)
    }
}

/// Another process holding a deploy lock, until `stop()`: a shell that takes the lock with
/// `flock(1)` on a descriptor of its own and then becomes `sleep`, so one process holds it (a
/// child of `flock COMMAND` would outlive a killed `flock` and keep Foundation's Process waiting).
final class LockHolder {
    let process = Process()

    init(_ path: String) throws {
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", #"exec 9>>"$1" && flock --exclusive 9 && exec sleep 60"#, "lock-holder", path]
        try process.run()
        guard waitUntil({ DeployLock.inspect(path).state == .held }) else { throw POSIXFailure("flock did not take \(path)") }
    }

    /// SIGKILL, because children of the test process start with SIGTERM blocked (Foundation's Process).
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
