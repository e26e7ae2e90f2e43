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
/// One storage word per open lock (its id commits to every parameter), plus the committed
/// total per (token, seller). The secret is public in the `Claimed` event.
contract IbetHTLC {
    /// @dev lock id => open
    mapping(bytes32 => bool) private _open;
    /// @dev token => seller => units committed to open locks
    mapping(address => mapping(address => uint256)) public committed;

    event IbetLocked(
        bytes32 indexed id,
        bytes32 indexed hashlock,
        address indexed token,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline
    );
    event Claimed(bytes32 indexed id, bytes32 secret);
    event Refunded(bytes32 indexed id);

    error LockExists(bytes32 id);
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

    /// @notice Whether lock `id` is open (neither claimed nor refunded).
    function isOpen(bytes32 id) external view returns (bool) {
        return _open[id];
    }

    /// @notice Commit `amount` units the caller already locked to this contract to one swap.
    function lock(address token, uint256 amount, bytes32 hashlock, address receiver, uint256 deadline)
        external
        returns (bytes32 id)
    {
        if (amount == 0) revert ZeroAmount();
        if (receiver == address(0)) revert ZeroReceiver();
        if (deadline <= block.timestamp || deadline > block.timestamp + 366 days) {
            revert BadDeadline(deadline, block.timestamp);
        }
        id = lockId(hashlock, token, msg.sender, receiver, amount, deadline);
        if (_open[id]) revert LockExists(id);
        uint256 needed = committed[token][msg.sender] + amount;
        uint256 available = IIbetLockable(token).lockedOf(address(this), msg.sender);
        if (available < needed) revert NotLockedToEscrow(available, needed);
        _open[id] = true;
        committed[token][msg.sender] = needed;
        emit IbetLocked(id, hashlock, token, msg.sender, receiver, amount, deadline);
    }

    /// @notice Release the units to the fixed receiver with the secret (anyone may call).
    function claim(
        bytes32 secret,
        address token,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline
    ) external {
        bytes32 id = lockId(sha256(abi.encodePacked(secret)), token, sender, receiver, amount, deadline);
        if (!_open[id]) revert LockNotOpen(id);
        if (block.timestamp >= deadline) revert DeadlinePassed(deadline, block.timestamp);
        _open[id] = false;
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
        uint256 deadline
    ) external {
        bytes32 id = lockId(hashlock, token, sender, receiver, amount, deadline);
        if (!_open[id]) revert LockNotOpen(id);
        if (block.timestamp < deadline) revert DeadlineNotReached(deadline, block.timestamp);
        _open[id] = false;
        committed[token][sender] -= amount;
        emit Refunded(id);
        IIbetLockable(token).unlock(sender, sender, amount, "stbridge-htlc refund");
    }
}
