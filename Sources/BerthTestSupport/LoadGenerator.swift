import Foundation

/// What `tools/loadgen.py` saw while it ran.
public struct LoadResult: Decodable, Sendable, CustomStringConvertible {
    public let requests: Int
    public let ok: Int
    public let failed: Int
    public let idle_close_retries: Int
    public let errors: [String: Int]
    public let statuses: [String: Int]
    public let versions: [String: Int]
    public let mode: String
    public let seconds: Double

    public var description: String {
        "\(mode): \(requests) requests in \(seconds) s, \(ok) ok, \(failed) failed \(errors) \(statuses), \(idle_close_retries) idle-close retries, versions \(versions)"
    }
}

/// Continuous HTTP load through the hosts' nginx while a test deploys: the proof of zero downtime.
public final class LoadGenerator: @unchecked Sendable {
    private let process: RunningProcess

    /// Starts clients against every address and returns once the first answer came back.
    public static func start(addresses: [String], hostHeader: String, mode: String, concurrency: Int = 2) throws -> LoadGenerator {
        let ready = FileManager.default.temporaryDirectory.appendingPathComponent("berth-load-\(UUID().uuidString)").path
        var argv = ["/usr/bin/python3", Repository.root.appendingPathComponent("tools/loadgen.py").path,
                    "--mode", mode, "--host-header", hostHeader, "--concurrency", String(concurrency),
                    "--duration", "240", "--ready-file", ready]
        for address in addresses { argv += ["--target", address] }
        let process = try RunningProcess.start(argv)
        guard RunningProcess.waitUntil(seconds: 10, { FileManager.default.fileExists(atPath: ready) }) else {
            process.signal(SIGTERM)
            throw TestSetupError("the load generator got no answer from \(addresses) within 10 s: \(process.wait().combined)")
        }
        try? FileManager.default.removeItem(atPath: ready)
        return LoadGenerator(process: process)
    }

    private init(process: RunningProcess) { self.process = process }

    /// Stops the clients and returns what they saw.
    public func stop() throws -> LoadResult {
        process.signal(SIGTERM)
        let output = process.wait()
        guard let line = output.stdout.split(separator: "\n").last,
              let result = try? JSONDecoder().decode(LoadResult.self, from: Data(line.utf8)) else {
            throw TestSetupError("the load generator printed no result: \(output.combined)")
        }
        return result
    }
}
