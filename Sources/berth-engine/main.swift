// berth-engine: runs on a host, reads one JSON line on stdin, answers with JSON lines on stdout.
// The protocol is in BerthCore/Plan/EngineProtocol.swift; the work is in BerthEngine.
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

let engine = Engine()
let arguments = CommandLine.arguments.dropFirst()
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
