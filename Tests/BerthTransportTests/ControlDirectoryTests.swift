import BerthTransport
import Foundation
import Testing

@Suite struct ControlDirectoryTests {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("berth-cm-\(UUID().uuidString)").path

    init() throws {
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    }

    @Test func aMissingFolderIsCreatedPrivate() throws {
        let path = "\(base)/cm"
        try ControlDirectory.prepare(path)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o700)
        try ControlDirectory.prepare(path)  // and accepted again
        try FileManager.default.removeItem(atPath: base)
    }

    @Test func aFolderOthersCanReachIsRefused() throws {
        let path = "\(base)/open"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        #expect(throws: ControlDirectoryError(path: path, problem: "has mode 755, so other users can reach its sockets")) {
            try ControlDirectory.prepare(path)
        }
        #expect("\(ControlDirectoryError(path: path, problem: "has mode 755, so other users can reach its sockets"))"
            == "the ssh control-socket folder \(path) has mode 755, so other users can reach its sockets; remove it (Berth recreates it private to you) and run the command again.")
        try FileManager.default.removeItem(atPath: base)
    }

    @Test func aFolderOfAnotherUserIsRefused() throws {
        let path = "\(base)/theirs"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        // As root the folder is really given away; otherwise it is checked as if we were someone else.
        let owner: uid_t = getuid() == 0 ? 65534 : getuid()
        let me: uid_t = getuid() == 0 ? 0 : getuid() + 1
        if getuid() == 0 { #expect(chown(path, 65534, 65534) == 0) }
        #expect(throws: ControlDirectoryError(path: path, problem: "belongs to uid \(owner), not to you (uid \(me))")) {
            try ControlDirectory.prepare(path, uid: me)
        }
        try FileManager.default.removeItem(atPath: base)
    }

    @Test func aLinkIsRefusedEvenToAPrivateFolder() throws {
        let real = "\(base)/real", link = "\(base)/link"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        #expect(throws: ControlDirectoryError(path: link, problem: "is a symbolic link")) { try ControlDirectory.prepare(link) }
        try FileManager.default.removeItem(atPath: base)
    }

    @Test func aFileIsRefused() throws {
        let path = "\(base)/file"
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        #expect(throws: ControlDirectoryError(path: path, problem: "is not a directory")) { try ControlDirectory.prepare(path) }
        try FileManager.default.removeItem(atPath: base)
    }
}
