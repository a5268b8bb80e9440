/// How the controller packs a release: `tar` writes exactly the members it is given (a file of
/// NUL-separated names, in order, directories without their contents), with fixed times, owners
/// and no setuid/setgid bits, so the same files always give the same archive and a host never
/// unpacks a privileged mode. Deciding which files go in is `ReleaseFiles`' job, not tar's.
public enum ReleaseTar {
    /// `tar` creating `archive` from `directory`, reading member names from `memberList`.
    public static func create(archive: String, directory: String, memberList: String) -> [String] {
        ["tar", "--create", "--file", archive, "--directory", directory,
         "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "--mode=ug-s",
         "--no-recursion", "--null", "--verbatim-files-from", "--files-from", memberList]
    }

    /// The member list `create` reads: each name followed by a NUL byte.
    public static func memberList(_ members: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for member in members {
            bytes.append(contentsOf: member.utf8)
            bytes.append(0)
        }
        return bytes
    }

    /// `gzip` compressing `tar` in place (to `tar.gz`), without a name or time in the header.
    public static func compress(_ tar: String) -> [String] {
        ["gzip", "-n", "-6", "-f", tar]
    }
}
