import Logging
import MeltWatchAlarms
import MeltWatchCore
import MeltWatchHazards

/// What the duty server needs from the daemon, as values: the alarm book, the signals, the status,
/// the event log, and the one write — an action through the journal and the engine thread. The
/// server renders every answer itself (``DutyJSON``), so the daemon knows nothing of HTTP or JSON
/// and a test drives the router with a backend of its own.
public protocol DutyBackend: Sendable {
    /// The alarm book as the engine thread last showed it: open alarms, those recently back to
    /// normal, equipment out of service.
    var book: AlarmBook { get }
    /// Plant display names by plant id (the config in force).
    var plantNames: [String: String] { get }
    /// Whether the config in force has this equipment.
    func hasEquipment(plant: String, equipment: String) -> Bool
    /// Applies an operator's action through the journal and the engine thread; answers once its
    /// events are stored, with the alarm it concerned (nil for maintenance switches).
    func perform(_ action: AlarmAction) async -> Result<AlarmRecord?, AlarmActionError>
    /// Every configured signal with what the engine last knew of it.
    var signals: [DutySignal] { get }
    /// What `GET /api/status` shows.
    var status: DutyStatus { get }
    /// What `/readyz` checks.
    var readiness: Readiness { get }
    /// `GET /metrics`: the Prometheus text exposition.
    var metrics: String { get }
    /// The stored alarm events (`GET /api/events`).
    var events: EventLog { get }
    /// The hazard records as stored (nil: every status), oldest found first.
    func hazards(status: Hazard.Status?) throws -> [Hazard]
    /// One hazard record as stored.
    func hazard(id: String) throws -> Hazard?
}

/// One configured signal as the duty room's overview shows it.
public struct DutySignal: Sendable, Equatable {
    public var plant: String
    public var equipment: String
    public var role: String
    /// The topic of MeltWatch's own JSON, when that is its source.
    public var topic: String?
    public var value: Value?
    public var quality: Quality
    /// Event time of the last reading; nil before the first.
    public var eventTime: EventTime?
    /// `ok`, `stale`, `frozen`, `bad` or `unknown`.
    public var health: String

    /// Creates a signal row.
    public init(plant: String, equipment: String, role: String, topic: String?, value: Value?, quality: Quality,
                eventTime: EventTime?, health: String) {
        self.plant = plant
        self.equipment = equipment
        self.role = role
        self.topic = topic
        self.value = value
        self.quality = quality
        self.eventTime = eventTime
        self.health = health
    }
}

/// The daemon as `GET /api/status` shows it.
public struct DutyStatus: Sendable, Equatable {
    public struct Plant: Sendable, Equatable {
        public var id: String
        public var name: String

        /// Creates a plant entry.
        public init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }

    public var version: String
    public var configHash: String
    public var startedAt: EventTime
    public var plants: [Plant]
    /// Broker connected and journal writable.
    public var ready: Bool

    /// Creates a status.
    public init(version: String, configHash: String, startedAt: EventTime, plants: [Plant], ready: Bool) {
        self.version = version
        self.configHash = configHash
        self.startedAt = startedAt
        self.plants = plants
        self.ready = ready
    }
}

/// How the duty server behaves: who may write, where the console is reached, its bounds and clocks.
public struct DutySettings: Sendable {
    /// Operator tokens (`duty.tokens_file`, re-read on SIGHUP); without a file, writes are
    /// anonymous-by-name (loopback listeners only: `check` refuses otherwise).
    public var tokens: OperatorTokenStore
    /// `duty.public_url`: the console's address as the duty room reaches it (its origin may write).
    public var publicURL: String?
    /// At most this many connections at once (SSE streams included).
    public var maxConnections: Int
    /// A connection with no request in progress closes after this long.
    public var idleTimeout: Duration
    /// SSE heartbeat period: lets the console notice a dead stream.
    public var streamHeartbeat: Duration
    /// What SSE heartbeats measure and stamp time with.
    public var clock: any ServiceClock
    public var logger: Logger

    /// Creates settings.
    public init(tokens: OperatorTokenStore, publicURL: String? = nil, maxConnections: Int = 256, idleTimeout: Duration = .seconds(60),
                streamHeartbeat: Duration = .seconds(15), clock: any ServiceClock = SystemServiceClock(), logger: Logger) {
        self.tokens = tokens
        self.publicURL = publicURL
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.streamHeartbeat = streamHeartbeat
        self.clock = clock
        self.logger = logger
    }
}
