import BerthConfig
import BerthControl
import BerthCore
import Foundation

/// Where a command's progress and results go: people or machines.
protocol Progress: Sendable {
    func headline(_ text: String)
    func event(host: String, _ event: EngineEvent)
    func note(host: String, _ text: String)
    func summary(command: String, reports: [HostReport], exitCode: Int32, facts: SummaryFacts)
    /// The failed pre-flight checks, all at once (nothing when every check passed).
    func findings(_ findings: [PreflightFinding], forced: Bool)
}


func makeProgress(json: Bool) -> any Progress { json ? JSONLinesProgress() : HumanProgress() }

/// Facts about the whole command, in the `--json` summary line.
struct SummaryFacts: Encodable {
    var environment: String
    /// The release deployed (deploy) or asked for (rollback, nil: the previous one).
    var release: String?
    var label: String?
    /// The release the release store holds as desired after the command (nil: no store, or not published).
    var desired: String? = nil
    /// Wall time of the whole command, in milliseconds.
    var totalMs: Int
    /// Deploy: files of the release directory left out of the release (env files, the app file,
    /// `.berthignore`'d and default excludes, sockets and FIFOs).
    var leftOutFiles: Int? = nil
    /// What `leftOutFiles` counts, for people: `2 files (1 env file, the app file)`.
    var leftOutSummary: String? = nil

    private enum CodingKeys: String, CodingKey {
        case environment, release, label, desired, totalMs, leftOutFiles
    }
}

extension SummaryFacts {
    /// `3 files (1 env file, the app file, 1 by .berthignore)`, or nil when nothing was left out.
    static func describe(leftOut: [ReleaseFiles.LeftOut]) -> String? {
        guard !leftOut.isEmpty else { return nil }
        let order: [(ReleaseFiles.LeftOut.Reason, String, String)] = [
            (.envFile, "env file", "env files"), (.appFile, "the app file", "app files"),
            (.ignored, "by .berthignore", "by .berthignore"), (.byDefault, "by default (.git, __pycache__, …)", "by default (.git, __pycache__, …)"),
            (.special, "socket, FIFO or device", "sockets, FIFOs or devices"),
        ]
        let parts = order.compactMap { reason, one, many -> String? in
            let count = leftOut.filter { $0.reason == reason }.count
            if count == 0 { return nil }
            if reason == .appFile { return count == 1 ? one : "\(count) \(many)" }
            return "\(count) \(count == 1 ? one : many)"
        }
        return "\(leftOut.count) file\(leftOut.count == 1 ? "" : "s") (\(parts.joined(separator: ", ")))"
    }
}

/// Serialises writes to stdout from concurrent host tasks.
final class Printer: @unchecked Sendable {
    static let shared = Printer()
    private let lock = NSLock()
    func line(_ text: String) {
        lock.withLock {
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }
}

/// Human progress: one line per finished step with its duration, then a summary table.
struct HumanProgress: Progress {
    func headline(_ text: String) { Printer.shared.line(text) }

    func event(host: String, _ event: EngineEvent) {
        switch event.event {
        case .step:
            guard let step = event.step, let status = event.status, status != .started else { return }
            let ms = event.ms.map { "\($0) ms" } ?? ""
            let mark = status == .failed ? "✗" : status == .skipped ? "–" : "✓"
            var line = "\(host.padded(8)) \(mark) \(step.padded(10)) \(ms.leftPadded(8))"
            if let message = event.message { line += "  \(message)" }
            Printer.shared.line(line)
        case .warning:
            Printer.shared.line("\(host.padded(8)) ! \(event.message ?? "")")
        case .error:
            Printer.shared.line("\(host.padded(8)) ✗ \(event.message ?? "")")
        default:
            break
        }
    }

    func note(host: String, _ text: String) { Printer.shared.line("\(host.padded(8)) · \(text)") }

    func findings(_ findings: [PreflightFinding], forced: Bool) {
        guard !findings.isEmpty else { return }
        Printer.shared.line("pre-flight: \(findings.count) check(s) failed\(forced ? "; deploying anyway (--force)" : ""):")
        for finding in findings {
            Printer.shared.line("\((finding.host ?? "local").padded(8)) ✗ \(finding.check.padded(8)) \(finding.message)")
            Printer.shared.line("\("".padded(8))   \("".padded(8)) fix: \(finding.fix)")
        }
    }

    func summary(command: String, reports: [HostReport], exitCode: Int32, facts: SummaryFacts) {
        guard !reports.isEmpty else { return }
        let batched = reports.contains { $0.batch != nil }
        var rows = [(batched ? ["BATCH"] : []) + ["HOST", "RESULT", "RELEASE", "TIME", "NOTE"]]
        for report in reports {
            let release = report.release.map { String($0.prefix(16)) } ?? "-"
            let time = report.totalMs > 0 ? String(format: "%.2f s", Double(report.totalMs) / 1000) : "-"
            rows.append((batched ? [report.batch.map(String.init) ?? "-"] : [])
                + [report.host, report.state.rawValue, release, time, report.message ?? ""])
        }
        Printer.shared.line("")
        for row in table(rows) { Printer.shared.line(row) }
        if let leftOut = facts.leftOutSummary { Printer.shared.line("left out of the release: \(leftOut)") }
        for report in reports where report.journal?.isEmpty == false {
            Printer.shared.line("\nlast journal lines on \(report.host):")
            for line in report.journal ?? [] { Printer.shared.line("  \(line)") }
        }
    }
}

/// `--json`: one object per line. Events carry `"type": "event"` and the host; the last line is
/// `"type": "summary"` with every host's report and the exit code. Field names are stable (docs/cli.md).
struct JSONLinesProgress: Progress {
    private static let encoder = JSONEncoder.stable()

    struct EventLine: Encodable {
        let type = "event"
        let host: String
        let event: EngineEvent
    }

    struct NoteLine: Encodable {
        let type = "note"
        let host: String
        let message: String
    }

    struct FindingsLine: Encodable {
        let type = "preflight"
        let forced: Bool
        let findings: [PreflightFinding]
    }

    struct SummaryLine: Encodable {
        let type = "summary"
        let command: String
        let exitCode: Int32
        let hosts: [HostReport]
        let facts: SummaryFacts
    }

    func headline(_ text: String) {}
    func event(host: String, _ event: EngineEvent) { emit(EventLine(host: host, event: event)) }
    func note(host: String, _ text: String) { emit(NoteLine(host: host, message: text)) }
    func findings(_ findings: [PreflightFinding], forced: Bool) { emit(FindingsLine(forced: forced, findings: findings)) }
    func summary(command: String, reports: [HostReport], exitCode: Int32, facts: SummaryFacts) {
        emit(SummaryLine(command: command, exitCode: exitCode, hosts: reports, facts: facts))
    }

    private func emit<T: Encodable>(_ value: T) {
        guard let data = try? Self.encoder.encode(value) else { return }
        Printer.shared.line(String(decoding: data, as: UTF8.self))
    }
}

/// Left-aligned columns separated by two spaces.
func table(_ rows: [[String]]) -> [String] {
    let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
    return rows.map { row in
        zip(row, widths).map { $0.padded($1) }.joined(separator: "  ").trimmingTrailingSpaces()
    }
}

extension String {
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}

/// Human-readable size.
func formatBytes(_ bytes: Int) -> String {
    if bytes < 1024 { return "\(bytes) B" }
    if bytes < 1024 * 1024 { return String(format: "%.1f KB", Double(bytes) / 1024) }
    return String(format: "%.1f MB", Double(bytes) / 1024 / 1024)
}
