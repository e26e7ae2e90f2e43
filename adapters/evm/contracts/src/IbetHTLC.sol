// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice What the HTLC needs of an ibet share or straight bond: its lock book.
interface IIbetLockable {
    function lockedOf(address lockAddress, address account) external view returns (uint256);

    function unlock(address account, address recipient, uint256 value, string calldata data) external;
}

/// @title Hash-time-locked settlement of ibet securities through their lock / unlock.
/// @notice ibet tokens have no approve / transferFrom. The seller first locks units to this
/// contract with the token's own `lock(htlc, amount, data)`; `lock` here then commits those
/// units to one swap (sha256 hashlock of a 32-byte secret, fixed receiver, deadline as block
/// timestamp). A claim with the secret unlocks them to the fixed receiver; a refund after the
/// deadline unlocks them back to the seller. Units locked to this contract but committed to
/// no open swap stay the seller's and can back a later lock. ibet's `unlock` skips the
/// token's transferable and personal-info checks, so the relayer runs the token's own
/// transfer check (the adapter's dry run) before locking and again before the claim.
/// The secret is public in the `Claimed` event.
///
/// Storage: the committed total per (token, seller), and one word per lock in a numbered
/// slot of its seller's: the lock's id (keccak-256 of every parameter) while it is open,
/// `CLOSED` (1, never a keccak output) once claimed or refunded, zero if never used. A lock
/// takes the seller's lowest slot at or after the caller's hint that holds no open lock, so
/// a busy seller's locks write over the `CLOSED` words of settled ones: a non-zero to
/// non-zero write (about 5,000 gas) where a fresh word costs 22,100; claims and refunds
/// write `CLOSED` rather than zero, giving up the 4,800 refund of clearing a word (they stay
/// well below Boltz's, see adapters/evm/htlc_gas.py). Only the seller's own locks use its
/// slots, so nobody else can fill them. The slot is in `IbetLocked`; claim and refund name
/// it and recompute the id, so a caller still cannot change the receiver, the sender, the
/// token or the amount, and a settled lock is never settled again (its word is `CLOSED`).
/// Two open locks with identical parameters (same seller, hashlock, receiver, amount and
/// deadline) can coexist in two slots: each is backed by its own committed units.
contract IbetHTLC {
    /// @dev The word of a settled lock (an id is a keccak-256 output, never 0 or 1).
    bytes32 private constant CLOSED = bytes32(uint256(1));

    /// @dev seller => slot => the open lock's id, CLOSED, or 0 (never used)
    mapping(address => mapping(uint256 => bytes32)) private _slots;
    /// @dev token => seller => units committed to open locks
    mapping(address => mapping(address => uint256)) public committed;

    event IbetLocked(
        bytes32 indexed id,
        bytes32 indexed hashlock,
        address indexed token,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline,
        uint256 slot
    );
    event Claimed(bytes32 indexed id, bytes32 secret);
    event Refunded(bytes32 indexed id);

    error LockNotOpen(bytes32 id);
    error ZeroAmount();
    error ZeroReceiver();
    error BadDeadline(uint256 deadline, uint256 nowTimestamp);
    error DeadlinePassed(uint256 deadline, uint256 nowTimestamp);
    error DeadlineNotReached(uint256 deadline, uint256 nowTimestamp);
    /// @notice The seller has not locked enough units to this contract (token.lock first).
    error NotLockedToEscrow(uint256 lockedToEscrow, uint256 needed);

    /// @notice The id of a lock: keccak256 of all its parameters.
    function lockId(
        bytes32 hashlock,
        address token,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(hashlock, token, sender, receiver, amount, deadline));
    }

    /// @notice Whether lock `id` is open in `sender`'s slot `slot` (neither claimed nor refunded).
    function isOpen(address sender, uint256 slot, bytes32 id) external view returns (bool) {
        return uint256(id) > 1 && _slots[sender][slot] == id;
    }

    /// @notice `sender`'s lowest slot at or after `from` that holds no open lock (the hint
    /// to pass to `lock`).
    function freeSlot(address sender, uint256 from) public view returns (uint256 slot) {
        slot = from;
        while (uint256(_slots[sender][slot]) > 1) slot++;
    }

    /// @notice Commit `amount` units the caller already locked to this contract to one swap,
    /// in the caller's first free slot at or after `slotHint` (see `freeSlot`).
    function lock(
        address token,
        uint256 amount,
        bytes32 hashlock,
        address receiver,
        uint256 deadline,
        uint256 slotHint
    ) external returns (bytes32 id) {
        if (amount == 0) revert ZeroAmount();
        if (receiver == address(0)) revert ZeroReceiver();
        if (deadline <= block.timestamp || deadline > block.timestamp + 366 days) {
            revert BadDeadline(deadline, block.timestamp);
        }
        id = lockId(hashlock, token, msg.sender, receiver, amount, deadline);
        uint256 slot = freeSlot(msg.sender, slotHint);
        uint256 needed = committed[token][msg.sender] + amount;
        uint256 available = IIbetLockable(token).lockedOf(address(this), msg.sender);
        if (available < needed) revert NotLockedToEscrow(available, needed);
        _slots[msg.sender][slot] = id;
        committed[token][msg.sender] = needed;
        emit IbetLocked(id, hashlock, token, msg.sender, receiver, amount, deadline, slot);
    }

    /// @notice Release the units to the fixed receiver with the secret (anyone may call).
    function claim(
        bytes32 secret,
        address token,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline,
        uint256 slot
    ) external {
        bytes32 id = lockId(sha256(abi.encodePacked(secret)), token, sender, receiver, amount, deadline);
        if (_slots[sender][slot] != id) revert LockNotOpen(id);
        if (block.timestamp >= deadline) revert DeadlinePassed(deadline, block.timestamp);
        _slots[sender][slot] = CLOSED;
        committed[token][sender] -= amount;
        emit Claimed(id, secret);
        IIbetLockable(token).unlock(sender, receiver, amount, "stbridge-htlc claim");
    }

    /// @notice Return the units to the fixed sender once the deadline is reached (anyone may call).
    function refund(
        bytes32 hashlock,
        address token,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline,
        uint256 slot
    ) external {
        bytes32 id = lockId(hashlock, token, sender, receiver, amount, deadline);
        if (_slots[sender][slot] != id) revert LockNotOpen(id);
        if (block.timestamp < deadline) revert DeadlineNotReached(deadline, block.timestamp);
        _slots[sender][slot] = CLOSED;
        committed[token][sender] -= amount;
        emit Refunded(id);
        IIbetLockable(token).unlock(sender, sender, amount, "stbridge-htlc refund");
    }
}
