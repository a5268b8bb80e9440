import BerthCore
import Foundation
@testable import BerthConfig

/// A small valid app file, one block per top-level key. Tests put the block under test on top (so
/// line numbers in expected errors count from the test's own text) and the rest of this after it.
enum Base {
    static let blocks: [(key: String, text: String)] = [
        ("app", "app: hello\n"),
        ("release", "release:\n  path: app\n"),
        ("hosts", "hosts:\n  web1:\n    address: 10.0.0.5\n    roles: [web]\n"),
        ("services", "services:\n  web:\n    command: python3 server.py\n    role: web\n    port: 8000\n"),
        ("environments", "environments:\n  production:\n    hosts: [web1]\n"),
    ]

    /// `top`, followed by every base block whose key `top` does not define.
    static func appFile(_ top: String) -> String {
        let defined = Set(top.split(separator: "\n").compactMap { line -> String? in
            guard let first = line.first, first.isLetter, let colon = line.firstIndex(of: ":") else { return nil }
            return String(line[..<colon])
        })
        let rest = blocks.filter { !defined.contains($0.key) }.map(\.text).joined()
        return (top.hasSuffix("\n") || top.isEmpty ? top : top + "\n") + rest
    }
}

/// Every error of parsing `yaml` as printed (`berth.yml:3:9: message`); empty when it parses.
func problems(_ yaml: String, file: String = "berth.yml") -> [String] {
    do {
        _ = try AppFile.parse(yaml: yaml, file: file)
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

/// `problems` of `Base.appFile(top)`.
func problems(top: String) -> [String] {
    problems(Base.appFile(top))
}

/// The model of `Base.appFile(top)`; throws the errors if it does not parse.
func config(top: String) throws -> AppConfig {
    try AppFile.parse(yaml: Base.appFile(top), file: "berth.yml")
}

/// Every error of parsing an env file, as printed.
func dotEnvProblems(_ text: String, file: String = ".env") -> [String] {
    do {
        _ = try DotEnv.parse(text, file: file)
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

enum Fixture {
    static func text(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil) else {
            throw FixtureMissing(name: name)
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    struct FixtureMissing: Error {
        let name: String
    }
}

enum Repository {
    /// The folder holding Package.swift, found by walking up from this file.
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        fatalError("no Package.swift above \(#filePath)")
    }()
}

/// A fresh folder under the system's temporary directory, removed by `remove()`.
struct TemporaryFolder {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("berth-config-tests-\(UUID().uuidString)").standardizedFileURL
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    func write(_ relative: String, _ text: String) throws {
        let url = URL(fileURLWithPath: path).appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    func makeDirectory(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: path + "/" + relative, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
