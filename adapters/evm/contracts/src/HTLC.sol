// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice The part of ERC-1410 (ERC-1400's partitions) the HTLC drives.
interface IHTLCPartitionedToken {
    function balanceOfByPartition(bytes32 partition, address holder) external view returns (uint256);
    function transferByPartition(bytes32 partition, address to, uint256 value, bytes calldata data)
        external
        returns (bytes32);
    function operatorTransferByPartition(
        bytes32 partition,
        address from,
        address to,
        uint256 value,
        bytes calldata data,
        bytes calldata operatorData
    ) external returns (bytes32);
}

/// @title HTLC: hash-time-locked escrow for the native coin and ERC-20-compatible tokens.
/// @notice One contract serves every lock on its chain. A lock moves `amount` from its
/// sender into this contract; before `deadline` anyone holding the 32-byte secret whose
/// SHA-256 is `hashlock` can release it, and it always goes to the fixed `receiver`; from
/// `deadline` on anyone can return it, and it always goes to the fixed `sender`. Exactly one
/// of the two is possible at any moment (claim strictly before the deadline, refund at or
/// after it), so the two can never race.
///
/// Storage is one word per open lock: the lock's id is the keccak-256 commitment to all of
/// its parameters (the chain and this contract are implied by where it is stored):
/// - a native-coin lock: keccak256(abi.encode(hashlock, sender, receiver, amount, deadline)),
///   160 bytes, with no token word;
/// - a token lock: keccak256(abi.encode(hashlock, token, sender, receiver, amount, deadline)),
///   192 bytes;
/// - a partition lock: the token lock's words and the partition, 224 bytes.
/// The three kinds hash preimages of three different lengths, so their ids are disjoint by
/// construction: no choice of token (the zero address included) makes a token or partition
/// function compute the id of a native lock, or the reverse, short of a keccak-256
/// collision. Claim and refund take the parameters again and recompute the id, so a
/// caller cannot change the receiver, the sender, the token or the amount. The word is
/// cleared when the lock is settled, which makes a second claim, a claim after a refund and
/// a refund after a claim all fail with `LockNotOpen`. A second lock with the id of an open
/// lock fails with `LockExists`.
///
/// The word lives at the storage slot whose number is the id itself (no mapping, so no
/// second hash). That is collision-free because this contract declares no storage variable
/// at all (its reentrancy marks are in transient storage, a separate space): every slot it ever
/// writes is a lock id, and two locks share a slot only if they share an id, which means the
/// same parameters (refused as `LockExists`) or a keccak-256 collision (a native lock hashes
/// 160 bytes, a token lock 192, a partition lock 224). A storage variable must never be added
/// to this contract.
///
/// A token is an address with code. A call to an address without code succeeds and returns
/// nothing, so it must never count as a delivery or a payment: `lockToken` requires a
/// 32-byte answer from `balanceOf`, which no such address gives (the precompiles that answer
/// cannot also answer `transferFrom` as a token does), and refuses with `TokenWithoutCode`;
/// `lockPartition` likewise requires 32-byte answers from `balanceOfByPartition` (a
/// precompile that answers gives the same word before and after, a delivery of 0: refused);
/// `claimToken` / `refundToken` accept a `transfer` that returned nothing only from an
/// address with code; `claimPartition` / `refundPartition` check the code first. So a lock
/// can be closed only by paying its asset out.
///
/// The secret is exactly 32 bytes: claim takes it as `bytes32` and refuses calldata of any
/// other length, so a preimage of another size can never satisfy the hashlock here while
/// satisfying it on a chain that hashes variable-length input. The `Claimed` event carries
/// the secret, so it is learnable from the receipt even when the claim is an internal call.
///
/// Tokens: `lockToken` measures this contract's balance before and after `transferFrom` and
/// refuses a token that delivered anything other than `amount` (fee-on-transfer, rebasing).
/// Its `TokenLocked` event names the hashlock, the token, the receiver and the deadline; the
/// sender and the amount are the `from` and `value` of the token's own `Transfer` to this
/// contract, logged right after it in the same call, so every parameter is on chain in the
/// lock's receipt (a refund needs nothing kept off chain) without paying to log them twice.
/// For a regulated token (ERC-3643 / T-REX and alike) this contract's address must be an
/// eligible holder (e.g. a verified identity in the token's identity registry), and the
/// receiver must be eligible when the claim runs; the off-chain pre-flight checks both.
///
/// ERC-1400 partitions: `lockPartition` pulls `amount` of one partition with
/// `operatorTransferByPartition` (the sender authorises this contract as its operator, for
/// the partition or globally, or, where the token has partition allowances as our
/// SecurityToken1400 does, approves it for the amount: the cheaper way, as an ERC-20
/// allowance) and measures this contract's balance in that partition before and after;
/// `claimPartition` / `refundPartition` release it with `transferByPartition`, in the same
/// partition. A partition lock's id also commits to the partition (`partitionLockId`). Its
/// `PartitionLocked` event is `TokenLocked`'s shape: the partition, the sender and the amount
/// are in the token's own ERC-1410 `TransferByPartition` to this contract, logged after it
/// (and the receiver and the deadline share one word).
///
/// Reentrancy: every function clears or sets its storage word before any external call
/// (checks-effects-interactions). A token lock also leaves a mark per token in transient
/// storage (EIP-1153, gone when the transaction ends), so a token calling back cannot nest a
/// second lock inside the first and have one delivery counted twice:
/// - `lockToken` records, before it pulls the token, the balance it expects to hold after
///   (`before + amount`, stored plus one). A later `lockToken` of the same token in the same
///   transaction must find exactly that balance as its own `before`, or it fails with
///   `Reentered`. Nested inside an unfinished lock it finds less (the pull has not happened)
///   or, after a short delivery, less again; nested after an exact delivery it may pass, but
///   then the outer lock measures both deliveries and fails with `AmountNotReceived`.
///   Sequential locks of one token in one transaction therefore work (one write per lock,
///   no clean-up write); a transfer of that token to or from this contract between them in
///   the same transaction makes the next one fail, which is safe.
/// - `lockPartition` marks the token with all ones while it runs (cleared on exit) and
///   refuses to start while any mark of that token is set, so neither kind of lock nests
///   inside the other.
/// A claim or refund nested inside a lock only lowers the measured delivery, which makes the
/// lock fail.
///
/// Targets without transient storage (before Cancun; the build keeps the `#if` branch the
/// target supports) use one storage guard instead of the marks: a word at `GUARD_SLOT`
/// (keccak-256 of a name, minus one: not a keccak output, so never a lock id) is set to 1
/// by the constructor, and `lockToken` / `lockPartition` require 1, write 2 before they call
/// the token and 1 again when done. Any lock nested inside a lock then fails with
/// `Reentered`; sequential locks in one transaction work. Non-zero to non-zero writes keep
/// its cost near 2,300 gas per lock. `isOpen(GUARD_SLOT)` reads true; it is not a lock.
///
/// Gas: the bodies of `lock` and `lockToken` are inline assembly. Each builds the id's
/// preimage at memory 0x00-0xbf, over the free-memory pointer, and reuses it: the event's
/// data is (a slice of) it, in the standard ABI encoding, and in `lockToken` the words holding
/// the sender and the amount become the arguments of `transferFrom`. So both revert from
/// assembly and end with an assembly `return`: no Solidity code that uses memory runs after
/// the preimage is written. Their refusals name the same errors, in the same order, as the
/// checks in `_checkLock`. `lockToken` leaves its transient mark set on purpose (solc warns
/// about that): the next lock of the token in the same transaction checks it, see above.
/// `lockPartition` is inline assembly too (its preimage at 0x00-0xdf, its event's data over
/// its words 1-2, the token calls' arguments over both once they are
/// logged): it reads the token's code only to name a refusal, never on the way to a lock.
contract HTLC {
    /// @dev Upper bound on how far in the future a deadline may lie (catches milliseconds).
    uint256 private constant MAX_LOCK_SECONDS = 366 days;

    // #if !transient-storage
    /// @dev Targets without transient storage: the storage guard's slot (see the notes),
    /// uint256(keccak256("stbridge.htlc.guard")) - 1, written out because inline assembly
    /// only takes number literals (a unit test recomputes it).
    uint256 private constant GUARD_SLOT =
        0x8fb3ac7429fecfa62c6523be06fd5612b3ae493558e2cb82f042f75c98ffea02;

    constructor() {
        assembly {
            sstore(GUARD_SLOT, 1)
        }
    }
    // #endif

    /// @notice A native-coin lock was created.
    event Locked(
        bytes32 indexed hashlock, address sender, address receiver, uint256 amount, uint256 deadline
    );
    /// @notice A token lock was created.
    /// The sender and the amount are not repeated here: they are the `from` and the `value`
    /// of the token's own `Transfer(sender, this, amount)` log, which the same call emits
    /// right after this one (lockToken refuses a token whose delivery differs from `amount`).
    event TokenLocked(bytes32 indexed hashlock, address token, address receiver, uint256 deadline);
    /// @notice A lock of one ERC-1400 partition was created.
    /// As `TokenLocked`: the partition, the sender and the amount are not repeated here; they
    /// are the `fromPartition`, `from` and `value` of the token's own ERC-1410
    /// `TransferByPartition(partition, this contract, sender, this, amount, ...)` log, which
    /// the same call emits after this one (lockPartition refuses a delivery other than
    /// `amount` in that partition). The receiver and the deadline share one word:
    /// `receiverAndDeadline` = deadline << 160 | receiver (a deadline is at most 366 days
    /// after a block timestamp, far below 2**96).
    event PartitionLocked(bytes32 indexed hashlock, address token, uint256 receiverAndDeadline);
    /// @notice Lock `id` was released to its receiver with `secret` (sha256(secret) = hashlock).
    event Claimed(bytes32 indexed id, bytes32 secret);
    /// @notice Lock `id` was returned to its sender after its deadline.
    event Refunded(bytes32 indexed id);

    /// @notice A lock with these parameters is already open.
    error LockExists(bytes32 id);
    /// @notice No open lock has these parameters (wrong secret, wrong parameters, or settled).
    error LockNotOpen(bytes32 id);
    /// @notice The amount is zero.
    error ZeroAmount();
    /// @notice The receiver is the zero address.
    error ZeroReceiver();
    /// @notice The token is the zero address (use `lock` for the native coin).
    error ZeroToken();
    /// @notice The token address holds no code (nothing can be locked in or paid out of it).
    error TokenWithoutCode(address token);
    /// @notice The deadline is not in the future, or further than MAX_LOCK_SECONDS ahead.
    error BadDeadline(uint256 deadline, uint256 nowTimestamp);
    /// @notice Claim at or after the deadline (the lock can only be refunded now).
    error DeadlinePassed(uint256 deadline, uint256 nowTimestamp);
    /// @notice Refund before the deadline (the lock can only be claimed now).
    error DeadlineNotReached(uint256 deadline, uint256 nowTimestamp);
    /// @notice The call's data has the wrong length (e.g. a secret that is not 32 bytes).
    error BadCalldataLength(uint256 length, uint256 expected);
    /// @notice The token delivered `received` instead of `amount` (fee on transfer).
    error AmountNotReceived(uint256 amount, uint256 received);
    /// @notice Moving the coin or token out failed.
    error TransferFailed();
    /// @notice A token operation was entered from inside another one.
    error Reentered();

    /// @notice The id (commitment) of a lock with these parameters on this contract.
    /// @dev `token` is the zero address for a native-coin lock, whose id hashes no token word
    /// (see the contract's notes); the token functions never take this branch.
    function lockId(
        bytes32 hashlock,
        address token,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline
    ) external pure returns (bytes32) {
        if (token == address(0)) return _nativeId(hashlock, sender, receiver, amount, deadline);
        return _tokenId(hashlock, token, sender, receiver, amount, deadline);
    }

    /// @notice Whether lock `id` is open (locked, neither claimed nor refunded).
    function isOpen(bytes32 id) external view returns (bool) {
        uint256 word;
        assembly {
            word := sload(id)
        }
        return word != 0;
    }

    // ---- native coin -----------------------------------------------------------------

    /// @notice Lock `msg.value` of the native coin for `receiver` under `hashlock` until `deadline`.
    function lock(bytes32 hashlock, address receiver, uint256 deadline)
        external
        payable
        returns (bytes32 id)
    {
        if (_refused(receiver, msg.value, deadline)) _checkLock(receiver, msg.value, deadline);
        bytes32 topic = Locked.selector;
        assembly {
            // the native id's preimage: no token word (see the contract's notes)
            mstore(0x00, hashlock)
            mstore(0x20, caller())
            mstore(0x40, receiver)
            mstore(0x60, callvalue())
            mstore(0x80, deadline)
            id := keccak256(0x00, 0xa0)
            if sload(id) {
                mstore(0x00, shl(224, 0xe1e616f8)) // LockExists(bytes32)
                mstore(0x04, id)
                revert(0x00, 0x24)
            }
            sstore(id, 1)
            log2(0x20, 0x80, topic, hashlock) // sender, receiver, amount, deadline
            mstore(0x00, id)
            return(0x00, 0x20)
        }
    }

    /// @notice Release a native-coin lock to its receiver with the 32-byte `secret`.
    /// @dev Anyone may call; `receiver` = 0 stands for `msg.sender` (the receiver claiming
    /// itself). The coin goes to the receiver committed in the lock, whoever calls.
    function claim(bytes32 secret, address sender, address receiver, uint256 amount, uint256 deadline)
        external
    {
        if (msg.data.length != 164) revert BadCalldataLength(msg.data.length, 164);
        if (receiver == address(0)) receiver = msg.sender;
        if (block.timestamp >= deadline) revert DeadlinePassed(deadline, block.timestamp);
        bytes32 id = _nativeId(_sha256(secret), sender, receiver, amount, deadline);
        _close(id);
        emit Claimed(id, secret);
        _sendValue(receiver, amount);
    }

    /// @notice Return a native-coin lock to its sender once `deadline` is reached.
    /// @dev Anyone may call; `sender` = 0 stands for `msg.sender`. The coin goes to the
    /// sender committed in the lock, whoever calls.
    function refund(bytes32 hashlock, address sender, address receiver, uint256 amount, uint256 deadline)
        external
    {
        if (sender == address(0)) sender = msg.sender;
        if (block.timestamp < deadline) revert DeadlineNotReached(deadline, block.timestamp);
        bytes32 id = _nativeId(hashlock, sender, receiver, amount, deadline);
        _close(id);
        emit Refunded(id);
        _sendValue(sender, amount);
    }

    // ---- tokens ------------------------------------------------------------------------

    /// @notice Lock `amount` of `token` (approved to this contract) for `receiver`.
    /// @dev Refused unless this contract's balance grows by exactly `amount`. `balanceOf`
    /// before, `transferFrom`, `balanceOf` after; a failed or short `balanceOf` or a `false`
    /// from `transferFrom` is refused (`TransferFailed`, or `TokenWithoutCode` when the token
    /// has no code, which is what makes `balanceOf` answer nothing) once the three calls are
    /// done, which undoes them all; a balance that fell reads as a huge delivery, refused as
    /// `AmountNotReceived`. (Yul evaluates arguments right to left, so in
    /// `and(gt(returndatasize(), 0x1f), staticcall(...))` the call runs first.)
    function lockToken(
        address token,
        uint256 amount,
        bytes32 hashlock,
        address receiver,
        uint256 deadline
    ) external returns (bytes32 id) {
        bool refused = _refused(receiver, amount, deadline);
        assembly {
            refused := or(refused, iszero(token))
        }
        if (refused) {
            if (token == address(0)) revert ZeroToken();
            _checkLock(receiver, amount, deadline);
        }
        bytes32 topic = TokenLocked.selector;
        assembly {
            mstore(0x00, hashlock)
            mstore(0x20, token)
            mstore(0x40, caller())
            mstore(0x60, receiver)
            mstore(0x80, amount)
            mstore(0xa0, deadline)
            id := keccak256(0x00, 0xc0)
            if sload(id) {
                mstore(0x00, shl(224, 0xe1e616f8)) // LockExists(bytes32)
                mstore(0x04, id)
                revert(0x00, 0x24)
            }
            sstore(id, 1)
            mstore(0x40, receiver)
            mstore(0x60, deadline)
            log2(0x20, 0x60, topic, hashlock) // token, receiver, deadline
            mstore(0x40, caller())
            mstore(0x00, 0x70a08231) // balanceOf(address), in the word's last four bytes
            mstore(0x20, address())
            let ok :=
                and(gt(returndatasize(), 0x1f), staticcall(gas(), token, 0x1c, 0x24, 0x00, 0x20))
            let before := mload(0x00)
            // #if transient-storage
            // the reentrancy mark (see the contract's notes): the balance a lock of this
            // token earlier in this transaction left, plus one, or zero
            let mark := tload(token)
            if and(iszero(iszero(mark)), iszero(eq(mark, add(before, 1)))) {
                mstore(0x00, shl(224, 0xb5dfd9e5)) // Reentered()
                revert(0x00, 0x04)
            }
            tstore(token, add(add(before, amount), 1))
            // #else
            // the storage guard (see the contract's notes): 1 when no token lock runs
            if iszero(eq(sload(GUARD_SLOT), 1)) {
                mstore(0x00, shl(224, 0xb5dfd9e5)) // Reentered()
                revert(0x00, 0x04)
            }
            sstore(GUARD_SLOT, 2)
            // #endif
            mstore(0x20, 0x23b872dd) // transferFrom(caller [0x40], this, amount [0x80])
            mstore(0x60, address())
            if iszero(call(gas(), token, 0, 0x3c, 0x64, 0x20, 0x20)) {
                returndatacopy(0x00, 0x00, returndatasize())
                revert(0x00, returndatasize())
            }
            // nothing returned, or a word equal to 1; a shorter answer only overwrites the
            // high bytes of the selector word, whose last byte 0xdd then never reads as 1
            ok := and(ok, or(iszero(returndatasize()), eq(mload(0x20), 1)))
            mstore(0x40, 0x70a08231) // balanceOf(this [0x60])
            ok := and(
                ok, and(gt(returndatasize(), 0x1f), staticcall(gas(), token, 0x5c, 0x24, 0x00, 0x20))
            )
            if iszero(ok) {
                if iszero(extcodesize(token)) {
                    mstore(0x00, shl(224, 0x9276324f)) // TokenWithoutCode(address)
                    mstore(0x04, token)
                    revert(0x00, 0x24)
                }
                mstore(0x00, shl(224, 0x90b8ec18)) // TransferFailed()
                revert(0x00, 0x04)
            }
            let received := sub(mload(0x00), before)
            if iszero(eq(received, amount)) {
                mstore(0x00, shl(224, 0xf6dc6bd6)) // AmountNotReceived(uint256,uint256)
                mstore(0x04, amount)
                mstore(0x24, received)
                revert(0x00, 0x44)
            }
            // #if !transient-storage
            sstore(GUARD_SLOT, 1)
            // #endif
        }
        assembly {
            mstore(0x00, id)
            return(0x00, 0x20)
        }
    }

    /// @notice Release a token lock to its receiver with the 32-byte `secret`.
    /// @dev As `claim`, with the token named.
    function claimToken(
        bytes32 secret,
        address token,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline
    ) external {
        if (msg.data.length != 196) revert BadCalldataLength(msg.data.length, 196);
        if (receiver == address(0)) receiver = msg.sender;
        if (block.timestamp >= deadline) revert DeadlinePassed(deadline, block.timestamp);
        bytes32 id = _tokenId(_sha256(secret), token, sender, receiver, amount, deadline);
        _close(id);
        emit Claimed(id, secret);
        _sendToken(token, receiver, amount);
    }

    /// @notice Return a token lock to its sender once `deadline` is reached.
    /// @dev As `refund`, with the token named.
    function refundToken(
        bytes32 hashlock,
        address token,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline
    ) external {
        if (sender == address(0)) sender = msg.sender;
        if (block.timestamp < deadline) revert DeadlineNotReached(deadline, block.timestamp);
        bytes32 id = _tokenId(hashlock, token, sender, receiver, amount, deadline);
        _close(id);
        emit Refunded(id);
        _sendToken(token, sender, amount);
    }

    // ---- ERC-1400 partitions -----------------------------------------------------------

    /// @notice The id of a partition lock: the token lock's commitment with the partition added.
    function partitionLockId(
        bytes32 hashlock,
        address token,
        bytes32 partition,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(hashlock, token, sender, receiver, amount, deadline, partition));
    }

    /// @notice Lock `amount` of `partition` of `token` for `receiver` (this contract must be
    /// the sender's operator). Refused unless the partition balance grows by exactly `amount`.
    /// @dev Inline assembly, as `lockToken`: the id's preimage at memory 0x00-0xdf, the
    /// event's data at 0x20-0x5f, then `balanceOfByPartition` before,
    /// `operatorTransferByPartition` (empty data and operator data), `balanceOfByPartition`
    /// after. A failed or short balance answer is refused once the calls are done
    /// (`TokenWithoutCode` when the token has no code: such an address answers nothing, and
    /// the code is read only then), a balance that fell reads as a huge delivery
    /// (`AmountNotReceived`); the transfer's own revert is passed on. Its answer is not
    /// read: the measured delivery decides.
    function lockPartition(
        address token,
        bytes32 partition,
        uint256 amount,
        bytes32 hashlock,
        address receiver,
        uint256 deadline
    ) external returns (bytes32 id) {
        bool refused = _refused(receiver, amount, deadline);
        assembly {
            refused := or(refused, iszero(token))
        }
        if (refused) {
            if (token == address(0)) revert ZeroToken();
            _checkLock(receiver, amount, deadline);
        }
        bytes32 topic = PartitionLocked.selector;
        assembly {
            // #if transient-storage
            if tload(token) {
                mstore(0x00, shl(224, 0xb5dfd9e5)) // Reentered()
                revert(0x00, 0x04)
            }
            tstore(token, not(0))
            // #else
            if iszero(eq(sload(GUARD_SLOT), 1)) {
                mstore(0x00, shl(224, 0xb5dfd9e5)) // Reentered()
                revert(0x00, 0x04)
            }
            sstore(GUARD_SLOT, 2)
            // #endif
            // the id: keccak256(abi.encode(hashlock, token, sender, receiver, amount,
            // deadline, partition)), as partitionLockId
            mstore(0x00, hashlock)
            mstore(0x20, token)
            mstore(0x40, caller())
            mstore(0x60, receiver)
            mstore(0x80, amount)
            mstore(0xa0, deadline)
            mstore(0xc0, partition)
            id := keccak256(0x00, 0xe0)
            if sload(id) {
                mstore(0x00, shl(224, 0xe1e616f8)) // LockExists(bytes32)
                mstore(0x04, id)
                revert(0x00, 0x24)
            }
            sstore(id, 1)
            mstore(0x40, or(shl(160, deadline), receiver))
            log2(0x20, 0x40, topic, hashlock) // token, receiverAndDeadline
            // balanceOfByPartition(partition, this) before, at 0x1c
            mstore(0x00, 0x30e82803)
            mstore(0x20, partition)
            mstore(0x40, address())
            let ok :=
                and(gt(returndatasize(), 0x1f), staticcall(gas(), token, 0x1c, 0x44, 0xe0, 0x20))
            let before := mload(0xe0)
            // operatorTransferByPartition(partition, sender, this, amount, "", ""), at 0x1c
            mstore(0x00, 0x8c0dee9c)
            mstore(0x40, caller())
            mstore(0x60, address())
            mstore(0x80, amount)
            mstore(0xa0, 0xc0) // offset of data
            mstore(0xc0, 0xe0) // offset of operatorData
            mstore(0xe0, 0) // data's length
            mstore(0x100, 0) // operatorData's length
            if iszero(call(gas(), token, 0, 0x1c, 0x104, 0x00, 0x00)) {
                returndatacopy(0x00, 0x00, returndatasize())
                revert(0x00, returndatasize())
            }
            // balanceOfByPartition(partition, this) after
            mstore(0x00, 0x30e82803)
            mstore(0x40, address())
            ok := and(
                ok, and(gt(returndatasize(), 0x1f), staticcall(gas(), token, 0x1c, 0x44, 0xe0, 0x20))
            )
            if iszero(ok) {
                if iszero(extcodesize(token)) {
                    mstore(0x00, shl(224, 0x9276324f)) // TokenWithoutCode(address)
                    mstore(0x04, token)
                    revert(0x00, 0x24)
                }
                mstore(0x00, shl(224, 0x90b8ec18)) // TransferFailed()
                revert(0x00, 0x04)
            }
            let received := sub(mload(0xe0), before)
            if iszero(eq(received, amount)) {
                mstore(0x00, shl(224, 0xf6dc6bd6)) // AmountNotReceived(uint256,uint256)
                mstore(0x04, amount)
                mstore(0x24, received)
                revert(0x00, 0x44)
            }
            // #if transient-storage
            tstore(token, 0)
            // #else
            sstore(GUARD_SLOT, 1)
            // #endif
            mstore(0x00, id)
            return(0x00, 0x20)
        }
    }

    /// @notice Release a partition lock to its receiver with the 32-byte `secret`.
    /// @dev As `claim`; `receiver` = 0 stands for `msg.sender`.
    function claimPartition(
        bytes32 secret,
        address token,
        bytes32 partition,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline
    ) external {
        if (msg.data.length != 228) revert BadCalldataLength(msg.data.length, 228);
        if (receiver == address(0)) receiver = msg.sender;
        if (block.timestamp >= deadline) revert DeadlinePassed(deadline, block.timestamp);
        if (token.code.length == 0) revert TokenWithoutCode(token);
        bytes32 id =
            partitionLockId(_sha256(secret), token, partition, sender, receiver, amount, deadline);
        _close(id);
        emit Claimed(id, secret);
        IHTLCPartitionedToken(token).transferByPartition(partition, receiver, amount, "");
    }

    /// @notice Return a partition lock to its sender once `deadline` is reached.
    /// @dev As `refund`; `sender` = 0 stands for `msg.sender`.
    function refundPartition(
        bytes32 hashlock,
        address token,
        bytes32 partition,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline
    ) external {
        if (sender == address(0)) sender = msg.sender;
        if (block.timestamp < deadline) revert DeadlineNotReached(deadline, block.timestamp);
        if (token.code.length == 0) revert TokenWithoutCode(token);
        bytes32 id = partitionLockId(hashlock, token, partition, sender, receiver, amount, deadline);
        _close(id);
        emit Refunded(id);
        IHTLCPartitionedToken(token).transferByPartition(partition, sender, amount, "");
    }

    // ---- internals ---------------------------------------------------------------------

    /// @dev Whether a lock with these values must be refused; `_checkLock` then says why.
    /// One unsigned comparison covers both deadline bounds: deadline - (now + 1) wraps to a
    /// huge number when deadline <= now, and is >= MAX_LOCK_SECONDS when deadline > now + MAX.
    function _refused(address receiver, uint256 amount, uint256 deadline)
        private
        view
        returns (bool bad)
    {
        assembly ("memory-safe") {
            bad := or(
                or(iszero(amount), iszero(receiver)),
                gt(sub(deadline, add(timestamp(), 1)), sub(MAX_LOCK_SECONDS, 1))
            )
        }
    }

    function _checkLock(address receiver, uint256 amount, uint256 deadline) private view {
        if (amount == 0) revert ZeroAmount();
        if (receiver == address(0)) revert ZeroReceiver();
        if (deadline <= block.timestamp || deadline > block.timestamp + MAX_LOCK_SECONDS) {
            revert BadDeadline(deadline, block.timestamp);
        }
    }

    /// @dev A native lock's id: 160 bytes hashed, no token word.
    function _nativeId(
        bytes32 hashlock,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline
    ) private pure returns (bytes32 id) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, hashlock)
            mstore(add(p, 0x20), sender)
            mstore(add(p, 0x40), receiver)
            mstore(add(p, 0x60), amount)
            mstore(add(p, 0x80), deadline)
            id := keccak256(p, 0xa0)
        }
    }

    /// @dev A token lock's id: 192 bytes hashed, the token in the second word.
    function _tokenId(
        bytes32 hashlock,
        address token,
        address sender,
        address receiver,
        uint256 amount,
        uint256 deadline
    ) private pure returns (bytes32 id) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, hashlock)
            mstore(add(p, 0x20), token)
            mstore(add(p, 0x40), sender)
            mstore(add(p, 0x60), receiver)
            mstore(add(p, 0x80), amount)
            mstore(add(p, 0xa0), deadline)
            id := keccak256(p, 0xc0)
        }
    }

    function _store(bytes32 id) private {
        uint256 taken;
        assembly ("memory-safe") {
            taken := sload(id)
            if iszero(taken) { sstore(id, 1) }
        }
        if (taken != 0) revert LockExists(id);
    }

    function _close(bytes32 id) private {
        uint256 was;
        assembly ("memory-safe") {
            was := sload(id)
            sstore(id, 0)
        }
        if (was == 0) revert LockNotOpen(id);
    }

    function _sendValue(address to, uint256 amount) private {
        bool ok;
        assembly ("memory-safe") {
            ok := call(gas(), to, amount, 0, 0, 0, 0)
        }
        if (!ok) revert TransferFailed();
    }

    /// @dev Pay `amount` of `token` to `to`. A token may return nothing or must return true;
    /// nothing counts only from an address with code (a call to an address without code
    /// succeeds and returns nothing, and must not close a lock without paying it out). The
    /// code is read only when nothing came back, so a token that answers pays no more gas.
    function _sendToken(address token, address to, uint256 amount) private {
        bool ok;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, shl(224, 0xa9059cbb)) // transfer(address,uint256)
            mstore(add(p, 0x04), to)
            mstore(add(p, 0x24), amount)
            ok := call(gas(), token, 0, p, 0x44, 0x00, 0x20)
            if iszero(ok) {
                returndatacopy(p, 0, returndatasize())
                revert(p, returndatasize())
            }
            switch returndatasize()
            case 0 {
                if iszero(extcodesize(token)) {
                    mstore(0x00, shl(224, 0x9276324f)) // TokenWithoutCode(address)
                    mstore(0x04, token)
                    revert(0x00, 0x24)
                }
            }
            default { ok := and(gt(returndatasize(), 0x1f), eq(mload(0x00), 1)) }
        }
        if (!ok) revert TransferFailed();
    }

    function _sha256(bytes32 secret) private view returns (bytes32 digest) {
        assembly ("memory-safe") {
            mstore(0x00, secret)
            if iszero(staticcall(gas(), 0x02, 0x00, 0x20, 0x00, 0x20)) { revert(0, 0) }
            digest := mload(0x00)
        }
    }
}
