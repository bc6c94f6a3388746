// Package lockfile holds exclusive locks made of files, for several
// processes on several machines that share one folder (a network drive
// mounted over NFS or SMB), where flock and fcntl locks cannot be trusted.
//
// A lock is a small JSON file naming its holder (user, host, process id,
// when it was taken, a random token). Acquire creates it with O_CREATE|O_EXCL,
// which is atomic on local file systems, on NFS v3 and later and on SMB, so
// of any number of processes racing for one path exactly one succeeds. The
// holder refreshes the file's modification time every Options.Interval (the
// heartbeat); whoever finds the lock held learns who holds it and whether
// the lock is stale.
//
// # Invariants
//
//   - Acquire never removes a lock file. A stale lock is taken over only by
//     TakeOver, which the caller calls after a person has confirmed it, with
//     the stale holder that Acquire reported: if the lock changed meanwhile
//     (the holder came back, a third process took it over), TakeOver fails
//     and leaves the new lock in place.
//   - A lock is stale when its holder is known to be gone: it was taken on
//     this machine (same host name and boot) by a process that no longer
//     runs, or its heartbeat is older than Options.Timeout (a holder on
//     another machine, whose processes cannot be seen from here). An empty
//     or unreadable lock file (its writer died between creating and filling
//     it) counts by its age alone. Clocks of the machines sharing a folder
//     are assumed to agree to well within Timeout.
//   - Of the processes taking over from one stale holder at once, exactly
//     one succeeds: they take turns through a breaker file
//     (PATH.takeover-TOKEN, made with O_EXCL and removed when done; one left
//     by a taker that died is stale by the same rules as a lock), and each
//     looks at the lock before moving it.
//   - TakeOver and Release move the lock file aside by rename before
//     deleting it and look at what they moved, so that they never delete a
//     lock other than the one they checked; a lock moved aside by mistake
//     (its holder came back at that very moment) is put back at once.
//   - A process killed inside TakeOver or Release may leave a file named
//     PATH.takeover-... or PATH.release-... beside the lock; such files
//     never stop anyone from taking the lock.
//   - A Lock whose file was taken over, or removed, is lost: Check, and every
//     heartbeat, compare the token in the file with its own, and Check
//     returns ErrLost from then on. Callers check before every write they
//     guard.
//
// The guarantee is that of advisory locks among cooperating processes:
// nothing stops a program that ignores the lock files, and a holder that
// stops heartbeating for longer than Timeout (a laptop suspended, a network
// partition) can lose its lock to a confirmed TakeOver; it then finds out
// at its next Check.
package lockfile
