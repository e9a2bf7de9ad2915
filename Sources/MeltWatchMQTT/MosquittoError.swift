import CMosquitto
import Glibc

/// A failed `mosquitto_*` call: the library's return code, its message, and where we called it.
///
/// A struct with a code rather than an enum, so new codes never break callers
/// (the swift-nio `IOError` / swift-system `Errno` habit).
public struct MosquittoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `MOSQ_ERR_*` value returned by libmosquitto.
    public var code: Int32
    /// The libmosquitto function that returned it.
    public var call: String
    /// `errno` at the time, meaningful when `code == MOSQ_ERR_ERRNO`.
    public var systemErrno: Int32

    /// A well-known code, for matching (`error.code == MosquittoError.Code.connectionLost`).
    public enum Code {
        public static let noMemory = Int32(MOSQ_ERR_NOMEM.rawValue)
        public static let protocolError = Int32(MOSQ_ERR_PROTOCOL.rawValue)
        public static let invalid = Int32(MOSQ_ERR_INVAL.rawValue)
        public static let noConnection = Int32(MOSQ_ERR_NO_CONN.rawValue)
        public static let connectionRefused = Int32(MOSQ_ERR_CONN_REFUSED.rawValue)
        public static let connectionLost = Int32(MOSQ_ERR_CONN_LOST.rawValue)
        public static let tls = Int32(MOSQ_ERR_TLS.rawValue)
        public static let payloadSize = Int32(MOSQ_ERR_PAYLOAD_SIZE.rawValue)
        public static let auth = Int32(MOSQ_ERR_AUTH.rawValue)
        public static let aclDenied = Int32(MOSQ_ERR_ACL_DENIED.rawValue)
        public static let errno = Int32(MOSQ_ERR_ERRNO.rawValue)
        public static let lookup = Int32(MOSQ_ERR_EAI.rawValue)
        public static let keepalive = Int32(MOSQ_ERR_KEEPALIVE.rawValue)
    }

    /// libmosquitto's own description of the code (`mosquitto_strerror`), or of errno for `MOSQ_ERR_ERRNO`.
    public var message: String {
        if code == Code.errno, systemErrno != 0, let s = strerror(systemErrno) {
            return String(cString: s)
        }
        return String(cString: mosquitto_strerror(code))
    }

    /// True for failures of the network or the broker that a reconnect may cure.
    public var isTransient: Bool {
        [Code.noConnection, Code.connectionLost, Code.connectionRefused, Code.errno, Code.lookup,
         Code.keepalive, Code.protocolError, Code.tls].contains(code)
    }

    public var description: String { "\(call): \(message) (MOSQ_ERR \(code))" }
}

/// Turns a libmosquitto return code into a thrown ``MosquittoError``; the one place every call goes through.
@inline(__always)
func check(_ rc: Int32, _ call: String) throws(MosquittoError) {
    if rc != MOSQ_ERR_SUCCESS.rawValue {
        throw MosquittoError(code: rc, call: call, systemErrno: rc == MOSQ_ERR_ERRNO.rawValue ? errno : 0)
    }
}

/// Calls `mosquitto_lib_init` exactly once per process (it is not thread-safe to call twice).
enum MosquittoLibrary {
    static let initialized: Bool = {
        // libmosquitto writes to its socket with plain write(2): a broker that vanished mid-write
        // would kill the whole monitor with SIGPIPE. The failed write returns EPIPE instead and the
        // loop reconnects.
        signal(SIGPIPE, SIG_IGN)
        _ = mosquitto_lib_init()
        return true
    }()
}
