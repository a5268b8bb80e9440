// berth-engine: runs on a host, reads one JSON line on stdin, answers with JSON lines on stdout.
// The protocol is in BerthCore/Plan/EngineProtocol.swift; the work is in BerthEngine.
// Two entry points are not for the controller: `catch-up <settings.json>` (the boot-time unit)
// and `serve-store <path> <app> <env> <host>` (the forced command of a host's catch-up key).
import BerthCore
import BerthEngine
import Glibc

// If the controller or its ssh connection goes away mid-deploy, finish the phase anyway: the host
// ends fully on the old or fully on the new release, never in between.
signal(SIGPIPE, SIG_IGN)
signal(SIGHUP, SIG_IGN)
umask(0o022)
if getenv("PATH") == nil {
    setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1)
}

// A test hook only (see EngineFault): normally unset.
var settings = EngineSettings()
settings.faultVariable = EngineFault.fromEnvironment()
let engine = Engine(settings: settings)
let arguments = Array(CommandLine.arguments.dropFirst())

func complain(_ message: String, _ status: Int32) -> Never {
    fputs("berth-engine: \(message)\n", stderr)
    exit(status)
}

switch arguments.first {
case "catch-up":
    guard arguments.count == 2 else { complain("usage: berth-engine catch-up <settings.json>", EngineExit.badInput) }
    do {
        let settings = try CatchUp.load(arguments[1])
        exit(await CatchUp(settings: settings).run())
    } catch {
        print("catch-up: \(error.description)")
        exit(error.exitCode)
    }
case "serve-store":
    guard arguments.count == 5 else { complain("usage: berth-engine serve-store <path> <app> <env> <host>", EngineExit.badInput) }
    let request = getenv("SSH_ORIGINAL_COMMAND").map { String(cString: $0) } ?? ""
    guard let parsed = CatchUpRequest(request) else {
        complain("this key may only ask 'desired' or 'archive <id>', not '\(request.prefix(100))'", EngineExit.badInput)
    }
    let store = CatchUpStore(layout: StoreLayout(path: arguments[1], app: arguments[2], env: arguments[3]),
                             authorizedKeysFile: CatchUpStore.defaultAuthorizedKeysFile())
    do {
        try store.serve(parsed, host: arguments[4])
        exit(EngineExit.ok)
    } catch {
        complain(error.description, error.exitCode)
    }
default:
    guard arguments.count == 1, let command = arguments.first else {
        engine.events.emit(.init(event: .error, message: "\(Engine.usage)."))
        exit(EngineExit.badInput)
    }
    let status: Int32
    do {
        status = await engine.run(command, input: try StandardInput.readLine())
    } catch {
        engine.events.emit(.init(event: .error, message: error.description))
        status = error.exitCode
    }
    exit(status)
}
