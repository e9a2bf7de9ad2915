import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import MeltWatchAlarms
import MeltWatchConfig
import MeltWatchCore
import MeltWatchDecode
import MeltWatchDuty
import MeltWatchHazardStore
import MeltWatchHazards
import MeltWatchJournal
import MeltWatchMQTT
import MeltWatchRing
import MeltWatchRules
import ServiceLifecycle


/// A startup failure with a message an operator can act on.
public struct DaemonError: Error, CustomStringConvertible {
    public var description: String
}

/// The composition root: config -> ingest thread -> ring -> engine thread -> alarm delivery, plus the
/// duty listener, run as one service group that stops gracefully on SIGTERM/SIGINT.
public enum Daemon {
    /// `sha256:<hex>` of the config file's bytes: every alarm event names the config that produced it.
    public static func configHash(_ bytes: [UInt8]) -> String {
        "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Runs the daemon in the foreground until SIGTERM/SIGINT; throws on configuration or startup errors.
    public static func run(configPath: String, logger: Logger) async throws {
        let (config, bytes) = try ConfigLoader.load(path: configPath)
        let hash = configHash(bytes)
        let signals = config.signals

        let decoder = try decoder(for: config)
        let reloader = ConfigReloader(path: configPath, running: config, hash: hash, logger: logger)

        var options = SubscriberOptions(
            address: BrokerAddress(host: config.broker.host, port: config.broker.port, tls: config.broker.tls),
            clientID: config.broker.clientID, topics: config.subscriptionTopics, qos: config.broker.qos
        )
        options.keepAliveSeconds = Int32(config.broker.keepAliveSeconds)
        options.username = config.broker.username
        if let file = config.broker.passwordFile { options.password = try readSecret(file) }
        if let ca = config.broker.caFile {
            options.tls = TLSFiles(caFile: ca, certFile: config.broker.certFile, keyFile: config.broker.keyFile)
        }
        if let host = config.sparkplugHostID {
            // Sparkplug 3.0 Primary Host: STATE on the ingest connection itself, so its will says
            // offline the moment this connection dies, and edge nodes buffer until we are back.
            options.presence = Presence(topic: "spBv1.0/STATE/\(host)", qos: 1, retain: true) { online, timestamp in
                Array("{\"online\":\(online),\"timestamp\":\(timestamp)}".utf8)
            }
        }
        let session = try IngestSession(options: options)

        let journal = try openJournal(config.journal, logger: logger)
        let now = WallClock.now
        let bookSettings = Replay.bookSettings(config, hash: hash)

        // The alarm outbox: the book as it stood at the last stop, and the events not yet delivered.
        let endpoints = try config.duty.webhooks.map { w in
            WebhookEndpoint(url: w.url, secret: try w.secretFile.map { Array(try readSecret($0).utf8) })
        }
        var channels: [any DeliveryChannel] = endpoints.enumerated().map { WebhookChannel(endpoint: $1, index: $0 + 1) }
        // The duty officers' chat robots, each named by its kind and its place among that kind.
        var robotsOfKind: [MeltWatchConfig.Channel.Kind: Int] = [:]
        for c in config.duty.channels {
            robotsOfKind[c.kind, default: 0] += 1
            let endpoint = RobotEndpoint(kind: RobotEndpoint.Kind(rawValue: c.kind.rawValue)!, url: c.url, secret: try c.secretFile.map { try readSecret($0) },
                                         minPriority: c.minPriority, perMinute: c.perMinute, consoleURL: config.duty.publicURL)
            channels.append(RobotChannel(endpoint: endpoint, index: robotsOfKind[c.kind]!))
        }
        if let prefix = config.duty.mqttTopicPrefix {
            channels.append(MQTTAlarmChannel(
                prefix: prefix, address: options.address, clientID: config.broker.clientID + "-alarms",
                username: options.username, password: options.password, tls: options.tls
            ))
        }
        let outboxDirectory = config.journal.dir + "/outbox"
        let cursorDirectory = outboxDirectory + "/cursors"
        let (outbox, restored): (Outbox, Outbox.Restored)
        let delivered = AlarmDelivery.lowestCursor(channels: channels, cursorDirectory: cursorDirectory)
        do {
            let environment = ProcessInfo.processInfo.environment
            (outbox, restored) = try Outbox.open(directory: outboxDirectory, now: now, settings: bookSettings,
                                                 sequenceFloor: AlarmDelivery.highestCursor(cursorDirectory: cursorDirectory),
                                                 options: JournalOptions(segmentBytes: Int(environment["MELTWATCH_TEST_OUTBOX_SEGMENT_BYTES"] ?? "") ?? Outbox.segmentBytes,
                                                                         syncOnCommit: environment["MELTWATCH_TEST_OUTBOX_SYNC"] == "1"),
                                                 fileSystem: SlowSyncFileSystem.fromEnvironment(environment))
        } catch {
            throw DaemonError(description: "cannot open the alarm outbox in \(outboxDirectory): \(error)")
        }
        if let problem = restored.problem {
            logger.warning("alarm outbox recovered", metadata: ["outbox.problem": "\(problem)"])
        }

        // Recovery: the engine and the book as they stood after the last journaled input (checkpoint
        // plus the journal's tail); the events the dead process computed but the outbox lacks are
        // sent now, under the ids they had. Without any recorded start (a new journal), a fresh one.
        let baseDirectory = configPath.lastIndex(of: "/").map { String(configPath[..<$0]) } ?? "."
        let counters = IngestCounters()
        let recoveryStarted = ContinuousClock.now
        var recovered: Recovery.Recovered?
        do {
            recovered = try Recovery.run(journalDirectory: config.journal.dir, baseDirectory: baseDirectory)
        } catch {
            logger.critical("recovery from the journal failed: starting fresh, open alarms return with cause restart",
                            metadata: ["recovery.error": "\(error)"])
        }
        // Room to write before anything is written: a daemon that died of a full disk would otherwise
        // fail at this start again, and again (the size bound's first turn in the ingest loop comes
        // later). Never the segment recovery started from.
        journal.protectedSegment = recovered?.anchorSegment
        let bound = JournalSizeBound(maxBytes: config.journal.maxBytes, minFreeBytes: config.journal.minFreeBytes)
        if bound.isSet, let space = try? journal.enforce(bound, now: now) {
            for r in space.removed {
                logger.warning("journal: the size bound removed a segment at start", metadata: ["journal.segment": "\(r.path)", "journal.bytes": "\(r.bytes)"])
            }
        }
        // The hazard records: the journal's projection the forms are filled from. A database that
        // cannot be opened does not keep the monitor from starting (HazardOutput).
        let inbox = ActionInbox()
        let hazards = HazardOutput(path: config.journal.dir + "/" + HazardStore.fileName, logger: logger, inbox: inbox)
        let stage: AlarmStage
        var resent = AlarmBook.Output()
        do {
            if let recovered {
                // The gateways' sessions (Sparkplug births) as the journal left them.
                try decoder.adoptState(from: recovered.stream.decoder)
                stage = recovered.stream.stage
                for (event, record) in zip(recovered.output.events, recovered.output.records) where !restored.storedEventIDs.contains(event.eventID) {
                    resent.events.append(event)
                    resent.records.append(record)
                }
                resent.maintenance = recovered.output.maintenance
                resent.hazardNotices = recovered.output.hazardNotices.filter { !restored.storedEventIDs.contains($0.eventID) }
                for problem in recovered.skipped {
                    logger.warning("checkpoint unusable; recovery fell back to an earlier one", metadata: ["checkpoint.problem": "\(problem)"])
                }
                for problem in recovered.damage {
                    logger.critical("recovery met journal damage: the records after it in that segment were not replayed",
                                    metadata: ["journal.problem": "\(problem)"])
                }
                logger.notice("recovered from the journal", metadata: [
                    "recovery.anchor": "\(recovered.anchor)", "recovery.records": "\(recovered.records)",
                    "recovery.events": "\(recovered.output.events.count)", "recovery.events_sent_now": "\(resent.events.count)",
                    "recovery.ms": "\(Int((ContinuousClock.now - recoveryStarted) / .milliseconds(1)))",
                    "recovery.restore_ms": "\(Int(recovered.restoreMilliseconds))", "recovery.replay_ms": "\(Int(recovered.replayMilliseconds))",
                ])
                // The daemon's own alarm raised when the journal failed could not be journaled; the
                // outbox has it. Journal it now (at its own time) so the book and replay keep it.
                for r in restored.snapshot.records where r.last.plant == SystemAlarms.plant && r.active && stage.book.record(r.id) == nil {
                    let action = AlarmAction.system(rule: r.last.rule, raise: true, subject: r.last.cause ?? "", message: r.last.message)
                    try journal.append(.action(time: r.raisedAt, data: action.encoded()))
                    try journal.commit(now: now)
                    _ = stage.perform(action, at: r.raisedAt)
                    let taken = stage.take()
                    for (event, record) in zip(taken.events, taken.records) where !restored.storedEventIDs.contains(event.eventID) {
                        resent.events.append(event)
                        resent.records.append(record)
                    }
                }
                if recovered.configHash != hash {
                    // The file changed while we were down: switch at this point of the stream, as a
                    // SIGHUP would (unchanged equipment continue, changed ones start fresh).
                    try journal.append(.reload(time: now, hash: hash, text: bytes))
                    try journal.commit(now: now)
                    stage.reload(config.engineModel(configHash: hash), at: now)
                    stage.updateSettings(bookSettings)
                }
            } else {
                // Journal the start and the book (replay starts from here), then let the fresh rules
                // continue numbering and return what they have not seen again.
                // No checkpoint to restore the desk from: its records (and numbering) from the database.
                var desk = HazardDesk(settings: Replay.hazardSettings(config))
                do {
                    desk.adopt(stored: try hazards.store?.hazards() ?? [])
                } catch {
                    logger.critical("the hazard database cannot be read: new hazard ids may repeat stored ones", metadata: ["hazards.error": "\(error)"])
                }
                stage = AlarmStage(engine: Engine(model: config.engineModel(configHash: hash)), book: AlarmBook(settings: bookSettings, snapshot: restored.snapshot),
                                   hazards: desk)
                try journal.append(.config(time: now, hash: hash, text: bytes))
                try journal.append(.alarmState(time: now, data: Outbox.encode(restored.snapshot)))
                try journal.commit(now: now)
                stage.resume(at: now)
            }
            // The database agrees with the journal: what recovery replayed, and every record not closed.
            hazards.write(stage.takeHazards().changed + stage.hazards.openHazards)
            // A database failure an earlier run told the duty room of is over once this one writes.
            if hazards.writable, stage.book.open.values.contains(where: { $0.active && $0.last.rule == HazardOutput.rule }) {
                inbox.submit(.system(rule: HazardOutput.rule, raise: false, subject: "hazards",
                                     message: "隐患数据库恢复写入 (hazard database writes again)"))
            }
            try outbox.storeSnapshot(stage.book.snapshot, at: now)
            if delivered >= outbox.nextSequence - 1 {
                for removed in try outbox.compact() {
                    logger.info("alarm outbox: removed a segment (everything in it delivered, the book kept)", metadata: ["outbox.segment": "\(removed)"])
                }
            }
            // A checkpoint at once: a crash soon after this start recovers from here.
            let position = journal.nextPosition
            let encoding = Monotonic.nanoseconds()
            let checkpoint = try StageCheckpoint.capture(stage, configBytes: bytes).encoded()
            if let state = decoder.encodeState() { try journal.append(.gatewayState(time: now, data: state)) }
            counters.checkpointBytes.store(checkpoint.count, ordering: .relaxed)
            counters.checkpointEncodeMilliseconds.store(Int((Monotonic.nanoseconds() - encoding) / 1_000_000), ordering: .relaxed)
            for part in CheckpointPart.split(checkpoint, time: now, position: position) {
                try journal.append(.checkpoint(part))
            }
            try journal.commit(now: now)
            journal.protectedSegment = position.segment
            let cutoff = now.adding(milliseconds: -Int64(config.journal.retentionDays) * 86_400_000)
            for removed in try journal.removeSegments(before: cutoff) {
                logger.info("journal: retention removed a segment", metadata: ["journal.segment": "\(removed)"])
            }
        } catch {
            throw DaemonError(description: "cannot record the alarm state at start: \(error)")
        }

        let latency = LatencyStages()
        // Memory holds the latest events; a channel behind them reads the outbox on disk.
        let eventLog = EventLog(initial: restored.events, archive: { after, limit in outbox.storedEvents(after: after, limit: limit) })
        let alarms = AlarmOutput(inbox: inbox, log: eventLog, outbox: outbox, book: stage.book, signals: signals,
                                 counters: counters, logger: logger)
        if !resent.events.isEmpty { alarms.publish(resent, book: stage.book) }
        if stage.hasOutput { alarms.publish(stage.take(), book: stage.book) }
        if let problem = journal.recovery.problem {
            inbox.submit(.system(rule: "journal-integrity", raise: true, subject: "journal",
                                 message: "日志完整性受损：\(problem)，已保留原文件并在新段继续记录 (journal damaged; kept as evidence, recording continues in a new segment)"))
        }
        let delivery = try AlarmDelivery(
            channels: channels, log: eventLog, cursorDirectory: cursorDirectory,
            heartbeat: config.duty.heartbeatSeconds > 0 ? .seconds(config.duty.heartbeatSeconds) : nil,
            heartbeatEvent: HeartbeatSource(boot: Int(now.milliseconds / 1000), configHash: hash, equipment: config.systemEquipment,
                                            clock: { WallClock.now }),
            logger: logger,
            systemAlarm: { rule, raise, subject, message in inbox.submit(.system(rule: rule, raise: raise, subject: subject, message: message)) },
            onDelivered: { stored in latency.record(.deliver, from: stored.storedNanos, to: Monotonic.nanoseconds()) }
        )
        alarms.compact(deliveredThrough: { delivery.deliveredThrough(latest: eventLog.lastSequence) })

        let ring = SPSCRing<EngineInput>(capacity: 1 << 16)
        let control = LoopControl()
        let checkpoints = CheckpointDesk()
        let handler = IngestHandler(decoder: decoder, ring: ring, journal: journal, control: control, counters: counters,
                                    inbox: inbox, reloader: reloader, checkpoints: checkpoints,
                                    checkpointIntervalMilliseconds: Int64(config.journal.checkpointIntervalSeconds) * 1000, brokerURL: config.broker.url,
                                    notify: SystemdNotify(environment: ProcessInfo.processInfo.environment), logger: logger,
                                    fsyncIntervalMilliseconds: Int64(config.journal.fsyncIntervalMilliseconds),
                                    retentionDays: config.journal.retentionDays,
                                    journalBound: bound,
                                    // The engine judges nothing on the daemon clock from where the
                                    // recovered stream ended until the broker answers again.
                                    streamEnd: recovered == nil ? nil : stage.engine.lastTick,
                                    retentionCheckIntervalMilliseconds: ProcessInfo.processInfo.environment["MELTWATCH_TEST_RETENTION_INTERVAL_MS"]
                                        .flatMap { Int64($0) } ?? 3_600_000)
        // Rebirth requests go out on the ingest connection, from the ingest thread.
        handler.publish = { [unowned session] m in session.publish(topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain) }
        let pipeline = Pipeline(session: session, handler: handler, control: control, ring: ring, stage: stage, alarms: alarms, hazards: hazards,
                                reloader: reloader, checkpoints: checkpoints, configBytes: bytes, latency: latency, counters: counters, logger: logger)

        let brokerURL = config.broker.url
        let topicCount = options.topics.count
        let metrics = DaemonMetrics(counters: counters, ring: ring, delivery: delivery, journalDirectory: config.journal.dir)
        let tokens: OperatorTokenStore
        do {
            tokens = try OperatorTokenStore.load(config.duty.tokensFile)
        } catch {
            throw DaemonError(description: "duty.tokens_file: \(error)")
        }
        let startedAt = now
        let backend = DaemonDutyBackend(alarms: alarms, inbox: inbox, reloader: reloader, counters: counters, daemonMetrics: metrics,
                                        startedAt: startedAt, brokerURL: brokerURL, journalDirectory: config.journal.dir,
                                        outboxDirectory: outboxDirectory, hazards: hazards)
        let dutyConnections = DescriptorBudget.reserve(connections: config.duty.maxConnections, logger: logger)
        let duty = DutyServer.application(
            host: config.duty.listenHost, port: config.duty.listenPort, backend: backend,
            settings: DutySettings(
                tokens: tokens, publicURL: config.duty.publicURL, maxConnections: dutyConnections,
                idleTimeout: .milliseconds(ProcessInfo.processInfo.environment["MELTWATCH_TEST_IDLE_TIMEOUT_MS"].flatMap { Int64($0) } ?? 60_000),
                logger: logger
            ),
            onListening: { port in
                logger.info("duty listener ready", metadata: ["duty.listen": "\(config.duty.listenHost):\(port)"])
            }
        )

        logger.info("starting meltwatch", metadata: [
            "config.file": "\(configPath)", "config.hash": "\(hash)", "mqtt.broker": "\(brokerURL)",
            "mqtt.client_id": "\(config.broker.clientID)", "mqtt.topics": "\(topicCount)",
            "engine.equipment": "\(config.allEquipment.count)", "engine.signals": "\(signals.count)",
            "duty.webhooks": "\(endpoints.count)", "alarms.open": "\(stage.book.open.count)",
            "alarms.undelivered": "\(delivery.pending)",
        ])
        // SIGHUP reloads the configuration (ReloadSignalService); until that service listens, a SIGHUP
        // must not kill the monitor by its default action.
        signal(SIGHUP, SIG_IGN)
        // A file-size limit (RLIMIT_FSIZE) must surface as a write error the journal handles
        // (EFBIG: journal-failed alarm, acknowledgements stop, exit), not as a signal that kills the
        // monitor without a word.
        signal(SIGXFSZ, SIG_IGN)

        // Shutdown runs in reverse order: the pipeline stops and drains first, then the listener,
        // then the dispatcher delivers what it can within its drain timeout.
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: delivery),
                .init(service: JournalAudit(directory: config.journal.dir, inbox: inbox, logger: logger)),
                .init(service: ReloadSignalService(reloader: reloader, tokens: tokens, logger: logger)),
                .init(service: duty),
                .init(service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup,
                      failureTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
        logger.info("meltwatch stopped", metadata: ["delivery.pending": "\(delivery.pending)", "delivery.delivered": "\(delivery.delivered)"])
    }

    /// Opens the journal, recovering a torn tail (what to record at start is recovery's business).
    static func openJournal(_ settings: MeltWatchConfig.Journal, logger: Logger) throws -> JournalWriter {
        let now = WallClock.now
        do {
            let environment = ProcessInfo.processInfo.environment
            // Test hook: small segments, so a test sees retention at work within seconds.
            let segmentBytes = environment["MELTWATCH_TEST_SEGMENT_BYTES"].flatMap { Int($0) } ?? JournalOptions().segmentBytes
            let journal = try JournalWriter(directory: settings.dir, options: JournalOptions(segmentBytes: segmentBytes),
                                            fileSystem: SlowSyncFileSystem.fromEnvironment(environment), now: now)
            if let torn = journal.recovery.tornTail {
                logger.notice("journal: cut a torn tail left by a crash (those messages were never acknowledged)", metadata: [
                    "journal.segment": "\(torn.path)", "journal.offset": "\(torn.offset)", "journal.bytes": "\(torn.bytes)",
                    "journal.saved_to": "\(torn.savedTo)",
                ])
            }
            if let problem = journal.recovery.problem {
                logger.critical("journal integrity problem", metadata: ["journal.problem": "\(problem)"])
            }
            logger.info("journal open", metadata: ["journal.dir": "\(settings.dir)", "journal.records_in_last_segment": "\(journal.recovery.records)"])
            return journal
        } catch {
            throw DaemonError(description: "cannot open the journal in \(settings.dir): \(error)")
        }
    }

    /// Reads a one-line secret file, without its trailing newline.
    static func readSecret(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), var s = String(data: data, encoding: .utf8) else {
            throw DaemonError(description: "cannot read secret file \(path)")
        }
        while s.hasSuffix("\n") || s.hasSuffix("\r") { s.removeLast() }
        guard !s.isEmpty else { throw DaemonError(description: "secret file \(path) is empty") }
        return s
    }
}
