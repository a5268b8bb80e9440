import BerthTestSupport
import Foundation
import Testing

/// podman works on this machine (runc, limits that fit it) with a locally built image: no
/// registry is reachable, so `testbed/containers setup` builds localhost/berth-tiny from a
/// busybox-static rootfs, and `check` runs it with a published port and curls it.
extension Integration {
    @Suite(.serialized) struct ContainerTests {
        @Test func podmanBuildsAndRunsALocalImage() throws {
            try requireTestbedPrerequisites()
            let testbed = Testbed.shared
            defer { _ = try? testbed.containers("cleanup") }

            let setup = try testbed.containers("setup")
            #expect(setup.stderr.contains("ready: localhost/berth-tiny:latest"), "\(setup.combined)")
            let conf = try String(contentsOfFile: testbed.directory + "/containers/containers.conf", encoding: .utf8)
            #expect(conf.contains(#"runtime = "runc""#) && conf.contains("default_ulimits"), "\(conf)")

            let check = try testbed.containers("check")
            #expect(check.stderr.contains("ok: localhost/berth-tiny:latest answered"), "\(check.combined)")

            // check removes its container; nothing labelled as ours is left running
            let left = try RunningProcess.start(["podman", "ps", "-aq", "--filter", "label=berth-testbed=1"],
                                                environment: ["CONTAINERS_CONF": testbed.directory + "/containers/containers.conf",
                                                              "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]).wait()
            #expect(left.status == 0 && left.stdout.isEmpty, "\(left.combined)")
        }
    }
}
