@testable import Raft

/// What the cluster has done so far, kept to check Raft's safety properties on every `Ready`
/// (Raft paper, figure 3). Violations are collected rather than trapped, so a simulation can
/// report the seed that produced them.
struct SafetyRecord {
    private struct EntryID: Hashable {
        var index: UInt64
        var term: UInt64
    }

    private var leaderOfTerm: [UInt64: NodeID] = [:]
    /// For each entry ever persisted: its data and the term of the entry before it. Log
    /// matching holds if these agree wherever the same (index, term) is persisted.
    private var persisted: [EntryID: (data: [UInt8], previousTerm: UInt64)] = [:]
    /// Every applied index: its term and the state machine's digest after applying it.
    private var committed: [UInt64: (term: UInt64, digest: UInt64)] = [:]
    private(set) var highestCommitted: UInt64 = 0
    private(set) var violations: [String] = []

    mutating func fail(_ violation: String) {
        violations.append(violation)
    }

    /// Log matching: an (index, term) names the same entry, preceded by the same entry, everywhere.
    mutating func checkPersisted(_ entries: [Entry], by id: NodeID, storage: MemoryStorage) {
        for entry in entries where entry.index >= storage.firstIndex {
            let previousTerm = try! storage.term(of: entry.index - 1)
            let key = EntryID(index: entry.index, term: entry.term)
            if let known = persisted[key] {
                if known.data != entry.data || known.previousTerm != previousTerm {
                    fail("log matching: member \(id) persisted \(key) differently")
                }
            } else {
                persisted[key] = (entry.data, previousTerm)
            }
        }
    }

    /// Election safety (one leader per term) and leader completeness (a new leader holds
    /// every entry committed so far).
    mutating func checkNewLeader(_ id: NodeID, term: UInt64, storage: MemoryStorage) {
        if let other = leaderOfTerm[term], other != id {
            fail("election safety: members \(other) and \(id) both led term \(term)")
        }
        leaderOfTerm[term] = id
        guard highestCommitted >= storage.firstIndex else { return }
        for index in storage.firstIndex...highestCommitted {
            if let entry = committed[index], (try? storage.term(of: index)) != entry.term {
                fail("leader completeness: leader \(id) of term \(term) lacks committed entry \(index)")
                return
            }
        }
    }

    /// State machine safety (all members apply the same entry at each index, so their
    /// digests agree), and leader completeness towards leaders elected before this commit
    /// was observed.
    mutating func checkApplied(
        _ entry: Entry, digest: UInt64, by id: NodeID, leaders: [(term: UInt64, storage: MemoryStorage)]
    ) {
        if let known = committed[entry.index] {
            if known.term != entry.term || known.digest != digest {
                fail("state machine safety: member \(id) applied a different entry or history at \(entry.index)")
            }
        } else {
            committed[entry.index] = (entry.term, digest)
            highestCommitted = max(highestCommitted, entry.index)
        }
        for leader in leaders where leader.term > entry.term && entry.index >= leader.storage.firstIndex {
            if (try? leader.storage.term(of: entry.index)) != entry.term {
                fail("leader completeness: a leader of term \(leader.term) lacks committed entry \(entry.index)")
            }
        }
    }

    /// Durability: the highest committed entry is in a quorum's storage (or in its snapshots),
    /// so no combination of crashes and restarts can lose it.
    mutating func checkDurability(storages: [MemoryStorage]) {
        guard let entry = committed[highestCommitted] else { return }
        let holders = storages.filter { storage in
            storage.firstIndex > highestCommitted
                || (try? storage.term(of: highestCommitted)) == entry.term
        }
        if holders.count <= storages.count / 2 {
            fail("durability: committed entry \(highestCommitted) is stored on \(holders.count) of \(storages.count) members")
        }
    }
}
