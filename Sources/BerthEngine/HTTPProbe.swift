import Glibc

/// What one health probe saw.
public enum ProbeResult: Equatable, Sendable, CustomStringConvertible {
    /// The server answered with this status line.
    case status(Int, reason: String)
    /// Nothing listens on the port (yet).
    case refused
    /// No complete answer within the timeout.
    case timedOut
    /// Anything else: a reset connection, a reply that is not HTTP.
    case failed(String)

    public var isHealthy: Bool {
        if case let .status(code, _) = self { return (200...299).contains(code) }
        return false
    }

    public var description: String {
        switch self {
        case let .status(code, reason): reason.isEmpty ? "\(code)" : "\(code) \(reason)"
        case .refused: "connection refused"
        case .timedOut: "no answer in time"
        case let .failed(why): why
        }
    }
}

/// A tiny HTTP/1.0 client for health checks: one GET on a fresh connection to an IPv4 address,
/// connect and read bounded by one timeout, only the status line looked at.
public struct HTTPProbe: Sendable {
    public var address: String

    public init(address: String = "127.0.0.1") {
        self.address = address
    }

    public func get(port: Int, path: String, timeoutMilliseconds: Int) -> ProbeResult {
        request(port: port, path: path, timeoutMilliseconds: timeoutMilliseconds).result
    }

    /// What one request got: the status (or why there was none), the body, and how long it took.
    public struct Answer: Sendable {
        public var result: ProbeResult
        /// The body as received (the first `bodyLimit` bytes), empty without an answer.
        public var body: [UInt8]
        public var milliseconds: Int

        public init(result: ProbeResult, body: [UInt8], milliseconds: Int) {
            self.result = result
            self.body = body
            self.milliseconds = milliseconds
        }
    }

    /// Bytes of an answer kept (status line, headers and body).
    public static let replyLimit = 1 << 20

    /// One request on a fresh HTTP/1.0 connection: `Host` is `host` when given (a site's domain,
    /// as nginx would pass it), else the address and port.
    public func request(method: String = "GET", port: Int, path: String, host: String? = nil,
                        userAgent: String = "berth-health", timeoutMilliseconds: Int) -> Answer {
        let clock = Stopwatch()
        var reply: [UInt8] = []
        let result = exchange(method: method, port: port, path: path, host: host, userAgent: userAgent,
                              timeoutMilliseconds: timeoutMilliseconds, reply: &reply)
        var body: [UInt8] = []
        if case .status = result, let end = Self.headerEnd(reply) { body = Array(reply[end...]) }
        return Answer(result: result, body: body, milliseconds: clock.milliseconds)
    }

    /// Where the body starts (after the blank line ending the headers); nil without one.
    public static func headerEnd(_ reply: [UInt8]) -> Int? {
        guard reply.count >= 4 else { return nil }
        for index in 0...(reply.count - 4)
        where reply[index] == 13 && reply[index + 1] == 10 && reply[index + 2] == 13 && reply[index + 3] == 10 {
            return index + 4
        }
        return nil
    }

    private func exchange(method: String, port: Int, path: String, host: String?, userAgent: String,
                          timeoutMilliseconds: Int, reply: inout [UInt8]) -> ProbeResult {
        let deadline = Stopwatch()
        let remaining = { Int32(clamping: max(timeoutMilliseconds - deadline.milliseconds, 0)) }

        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed("no socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }

        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else { return .failed("bad address \(address)") }
        let connected = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if connected != 0 {
            guard errno == EINPROGRESS else { return connectFailure(errno) }
            guard wait(fd, for: Int16(POLLOUT), milliseconds: remaining()) else { return .timedOut }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 { return connectFailure(error) }
        }

        let request = Array("\(method) \(path) HTTP/1.0\r\nHost: \(host ?? "\(address):\(port)")\r\nUser-Agent: \(userAgent)\r\n\(["POST", "PUT", "PATCH"].contains(method) ? "Content-Length: 0\r\n" : "")Connection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let count = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if count > 0 { sent += count; continue }
            guard count < 0, errno == EAGAIN || errno == EINTR else { return .failed("request not sent: \(String(cString: strerror(errno)))") }
            guard wait(fd, for: Int16(POLLOUT), milliseconds: remaining()) else { return .timedOut }
        }

        // Read to the end (the reply is small and the server closes after it), so the server never
        // writes into a connection that is already gone.
        var chunk = [UInt8](repeating: 0, count: 4096)
        while reply.count < Self.replyLimit {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 { reply += chunk[0..<count]; continue }
            if count == 0 { break }
            if errno == EINTR { continue }
            guard errno == EAGAIN else {
                if reply.isEmpty { return .failed("connection reset before an answer") }
                break
            }
            guard wait(fd, for: Int16(POLLIN), milliseconds: remaining()) else {
                if let status = Self.statusLine(reply) { return status }
                return .timedOut
            }
        }
        return Self.statusLine(reply) ?? .failed(reply.isEmpty ? "connection closed without an answer" : "the answer is not HTTP")
    }

    /// Whether something accepts connections on `port`: before a slot starts, its ports must be
    /// free, or the health check would ask whatever holds them.
    public func isTaken(port: Int) -> Bool {
        switch get(port: port, path: "/", timeoutMilliseconds: 200) {
        case .refused: false
        case let .failed(why): !why.hasPrefix("cannot connect")
        default: true
        }
    }

    /// `HTTP/1.1 200 OK` → `.status(200, "OK")`; nil until a whole status line is there.
    static func statusLine(_ reply: [UInt8]) -> ProbeResult? {
        guard let end = reply.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = String(decoding: reply[..<end], as: UTF8.self).trimmingCharacters(in: "\r ")
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else { return nil }
        return .status(code, reason: parts.count > 2 ? String(parts[2]) : "")
    }

    private func connectFailure(_ code: Int32) -> ProbeResult {
        code == ECONNREFUSED ? .refused : .failed("cannot connect: \(String(cString: strerror(code)))")
    }

    private func wait(_ fd: Int32, for events: Int16, milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0, errno == EINTR { continue }
            return ready > 0
        }
    }
}
