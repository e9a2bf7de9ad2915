import Foundation
import GRDB
import MeltWatchCore
import MeltWatchHazards

/// The hazard records on disk: SQLite through GRDB, in WAL mode with `synchronous=FULL` (a record
/// written is on disk when the write returns), a schema with migrations. It is the projection of the
/// journal the regulator's forms are filled from: the daemon writes every change the hazard desk
/// makes, on the engine thread, before the operator's request is answered; `meltwatch hazards` reads
/// it while the daemon runs (WAL readers do not block the writer). It keeps closed records for good,
/// long after the journal segments that made them are gone.
public final class HazardStore: Sendable {
    public let path: String
    private let pool: DatabasePool

    /// The database's file name in the journal directory.
    public static let fileName = "hazards.sqlite"

    /// Opens (creating and migrating) the database at `path` for the daemon.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.label = "meltwatch-hazards"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
    }

    /// Opens an existing database read-only (`meltwatch hazards` beside a running daemon).
    public init(readingFrom path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw HazardStoreError(description: "no hazard database at \(path) (the daemon creates it in journal.dir at its first start)")
        }
        self.path = path
        var config = Configuration()
        config.readonly = true
        config.label = "meltwatch-hazards-reader"
        pool = try DatabasePool(path: path, configuration: config)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: hazards and their history") { db in
            try db.create(table: "hazard") { t in
                t.primaryKey("id", .text)
                t.column("plant", .text).notNull().indexed()
                t.column("equipment", .text).notNull()
                t.column("class", .text).notNull()
                t.column("status", .text).notNull().indexed()
                t.column("found_at", .integer).notNull()
                t.column("closed_at", .integer)
                t.column("deadline", .integer)
                t.column("overdue", .boolean).notNull()
                // The whole record (Codable JSON): the columns above are for queries and sqlite3.
                t.column("record", .text).notNull()
            }
            try db.create(table: "hazard_change") { t in
                t.column("hazard_id", .text).notNull().references("hazard", onDelete: .cascade)
                t.column("n", .integer).notNull()
                t.column("at", .integer).notNull()
                t.column("by", .text).notNull()
                t.column("what", .text).notNull()
                t.column("status", .text).notNull()
                t.primaryKey(["hazard_id", "n"])
            }
        }
        return m
    }

    /// Writes the records (the last of each id wins) in one transaction.
    public func save(_ hazards: [Hazard]) throws {
        guard !hazards.isEmpty else { return }
        var latest: [String: Hazard] = [:]
        var order: [String] = []
        for h in hazards {
            if latest[h.id] == nil { order.append(h.id) }
            latest[h.id] = h
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let rows = try order.map { id -> (Hazard, String) in
            let h = latest[id]!
            return (h, String(decoding: try encoder.encode(h), as: UTF8.self))
        }
        try pool.write { db in
            for (h, json) in rows {
                try db.execute(sql: """
                    INSERT INTO hazard (id, plant, equipment, class, status, found_at, closed_at, deadline, overdue, record)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET status = excluded.status, closed_at = excluded.closed_at,
                      deadline = excluded.deadline, overdue = excluded.overdue, record = excluded.record
                    """, arguments: [h.id, h.plant, h.equipment, h.hazardClass.rawValue, h.status.rawValue, h.foundAt.milliseconds,
                                     h.closedAt?.milliseconds, h.rectification?.deadline.milliseconds, h.overdue, json])
                for (n, c) in h.history.enumerated() {
                    try db.execute(sql: "INSERT OR IGNORE INTO hazard_change (hazard_id, n, at, by, what, status) VALUES (?, ?, ?, ?, ?, ?)",
                                   arguments: [h.id, n + 1, c.at.milliseconds, c.by, c.what, c.status.rawValue])
                }
            }
        }
    }

    /// Records, oldest found first; `status` nil for all, `plant` nil for every plant.
    public func hazards(status: Hazard.Status? = nil, plant: String? = nil) throws -> [Hazard] {
        var sql = "SELECT record FROM hazard"
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let status {
            conditions.append("status = ?")
            arguments += [status.rawValue]
        }
        if let plant {
            conditions.append("plant = ?")
            arguments += [plant]
        }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY found_at, id"
        let texts = try pool.read { db in try String.fetchAll(db, sql: sql, arguments: arguments) }
        return try texts.map(Self.decode)
    }

    /// One record.
    public func hazard(_ id: String) throws -> Hazard? {
        try pool.read { db in try String.fetchOne(db, sql: "SELECT record FROM hazard WHERE id = ?", arguments: [id]) }.map(Self.decode)
    }

    /// The schema's migrations applied (for `check` and the tests).
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedMigrations(db) }
    }

    /// A pragma's value as a reader connection sees it (tests: WAL, synchronous).
    func pragma(_ name: String) throws -> String? {
        try pool.read { db -> String? in
            guard let value = try DatabaseValue.fetchOne(db, sql: "PRAGMA \(name)") else { return nil }
            switch value.storage {
            case .int64(let i): return String(i)
            case .string(let s): return s
            default: return "\(value)"
            }
        }
    }

    private static func decode(_ text: String) throws -> Hazard {
        do {
            return try JSONDecoder().decode(Hazard.self, from: Data(text.utf8))
        } catch {
            throw HazardStoreError(description: "a stored hazard record does not decode: \(error)")
        }
    }
}

/// The hazard database could not be used.
public struct HazardStoreError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(description: String) { self.description = description }
}
