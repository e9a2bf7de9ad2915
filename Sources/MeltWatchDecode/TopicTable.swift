import MeltWatchCore

/// Where a topic's messages go: one signal (per-signal form) or one equipment's roles (batch form).
public enum TopicRoute: Sendable {
    /// `{"ts": …, "v": …}` messages for this signal.
    case signal(SignalID)
    /// `{"ts": …, "values": {role: value, …}}` messages for this equipment.
    case equipment(EquipmentRoles)
}

/// One equipment's role names and their signals, looked up by the raw bytes of a JSON key.
///
/// Immutable after init, hence safely shared between threads.
public final class EquipmentRoles: Sendable {
    /// The lookup batch decoding uses; nil when no perfect table was found (then `table` serves).
    /// Declared first so it shares the object's first cache line with its header.
    private let fast: RoleTable?
    /// Number of roles (stored: batch decoding reads it per message, before the table).
    public let count: Int
    private let table: ByteKeyTable
    /// Signal of role i, i being the table index.
    private let signals: [SignalID]

    /// Builds the lookup; fails on an empty role name (it would never be a sensible JSON key).
    public init(_ roles: [String: SignalID]) throws(TopicTableError) {
        var table = ByteKeyTable()
        var signals: [SignalID] = []
        // Sorted so that indices (and thus any diagnostics) do not depend on dictionary order.
        for (name, signal) in roles.sorted(by: { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }) {
            guard !name.isEmpty else { throw TopicTableError(code: .emptyRole, topic: "", detail: "empty role name") }
            // Dictionary keys are distinct Strings, hence distinct bytes: this cannot fail today,
            // but the table's invariant is checked rather than assumed.
            guard table.insert(name.utf8) != nil else {
                throw TopicTableError(code: .duplicateRole, topic: "", detail: "role \"\(name)\" listed twice")
            }
            signals.append(signal)
        }
        self.table = table
        self.signals = signals
        count = signals.count
        fast = RoleTable(keys: (0..<signals.count).map { table.key(at: $0) }, signals: signals)
    }

    /// Role names in byte order.
    public var roleNames: [String] { (0..<count).map { String(decoding: table.key(at: $0), as: UTF8.self) } }

    /// The signal for a role name, or nil.
    public func signal(forRole role: String) -> SignalID? {
        var role = role
        return role.withUTF8 { lookup(UnsafeRawBufferPointer($0)) }.map { $0.signal }
    }

    /// Role index (dense, `0..<count`, for duplicate tracking) and signal for a key's bytes.
    @inline(__always)
    func lookup(_ key: UnsafeRawBufferPointer) -> (index: Int, signal: SignalID)? {
        if let fast { return fast.lookup(key) }
        guard let i = table.index(of: key) else { return nil }
        return (i, signals[i])
    }
}

/// A configuration mistake found while building a ``TopicTable``.
public struct TopicTableError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of mistake.
    public enum Code: String, Sendable, Equatable {
        /// The same topic was added twice (as a signal or an equipment).
        case duplicateTopic = "duplicate_topic"
        /// The topic is empty.
        case emptyTopic = "empty_topic"
        /// The topic contains `+`, `#` or NUL: those can never be the topic of a published message.
        case invalidTopic = "invalid_topic"
        /// An equipment has a role with an empty name.
        case emptyRole = "empty_role"
        /// An equipment lists a role twice.
        case duplicateRole = "duplicate_role"
        /// An equipment has no roles at all.
        case noRoles = "no_roles"
    }

    /// What kind of mistake.
    public var code: Code
    /// The topic concerned.
    public var topic: String
    /// A message for the operator.
    public var detail: String

    /// Creates an error.
    public init(code: Code, topic: String, detail: String) {
        self.code = code
        self.topic = topic
        self.detail = detail
    }

    /// `topic "…": detail`.
    public var description: String { "topic \"\(topic)\": \(detail)" }
}

/// Maps exact MQTT topic names to routes; built once from the configuration, then read-only.
///
/// Topics compare byte for byte, as MQTT brokers do.
public struct TopicTable: Sendable {
    private var table = ByteKeyTable()
    private var routes: [TopicRoute] = []
    /// `routes` for the parser, the roles unretained: `routes` holds them, and so does every copy
    /// of this table (arrays share their storage), for as long as these are readable.
    private var parseRoutes: [ParseRoute] = []
    private var names: [String] = []

    /// An empty table.
    public init() {}

    /// Routes `topic` to a single signal; throws if the topic is already routed or cannot be published to.
    public mutating func addSignal(topic: String, signal: SignalID) throws(TopicTableError) {
        try add(topic: topic, route: .signal(signal))
    }

    /// Routes `topic` to an equipment whose batch payloads name these roles.
    public mutating func addEquipment(topic: String, roles: [String: SignalID]) throws(TopicTableError) {
        guard !roles.isEmpty else {
            throw TopicTableError(code: .noRoles, topic: topic, detail: "equipment has no roles")
        }
        let lookup: EquipmentRoles
        do {
            lookup = try EquipmentRoles(roles)
        } catch {
            throw TopicTableError(code: error.code, topic: topic, detail: error.detail)
        }
        try add(topic: topic, route: .equipment(lookup))
    }

    /// The route for a topic, or nil when it is unknown.
    public func route(_ topic: String) -> TopicRoute? {
        var topic = topic
        return topic.withUTF8 { route(topicBytes: UnsafeRawBufferPointer($0)) }
    }

    /// The route for a topic given as raw bytes (as libmosquitto hands it over), or nil.
    @inline(__always)
    public func route(topicBytes: UnsafeRawBufferPointer) -> TopicRoute? {
        table.index(of: topicBytes).map { routes[$0] }
    }

    /// The route the parser takes for a topic's bytes, or nil; valid while this table lives.
    @inline(__always)
    func parseRoute(topicBytes: UnsafeRawBufferPointer) -> ParseRoute? {
        table.index(of: topicBytes).map { parseRoutes[$0] }
    }

    /// Every routed topic, in the order added.
    public var topics: [String] { names }

    /// Number of routed topics.
    public var count: Int { names.count }

    private mutating func add(topic: String, route: TopicRoute) throws(TopicTableError) {
        guard !topic.isEmpty else {
            throw TopicTableError(code: .emptyTopic, topic: topic, detail: "empty topic")
        }
        // MQTT forbids wildcards and U+0000 in topic names (as opposed to subscription filters).
        if topic.utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") || $0 == 0 }) {
            throw TopicTableError(
                code: .invalidTopic, topic: topic,
                detail: "a published topic cannot contain '+', '#' or NUL; list concrete topics"
            )
        }
        guard table.insert(topic.utf8) != nil else {
            let earlier: String
            switch self.route(topic) {
            case .signal(let id)?: earlier = "signal \(id)"
            case .equipment(let roles)?: earlier = "an equipment with \(roles.count) roles"
            case nil: earlier = "another route"
            }
            throw TopicTableError(
                code: .duplicateTopic, topic: topic, detail: "topic is routed twice (already routed to \(earlier))"
            )
        }
        routes.append(route)
        switch route {
        case .signal(let id): parseRoutes.append(.signal(id))
        case .equipment(let roles): parseRoutes.append(.equipment(Unmanaged.passUnretained(roles)))
        }
        names.append(topic)
    }
}
