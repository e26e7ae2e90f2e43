// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title SecurityToken1400: an ERC-1400 security token (ERC-1410, ERC-1594, ERC-1643, ERC-1644)
/// with a built-in validator (whitelist, lock-up per holder, pause).
/// @notice Balances are kept per partition (bytes32); `balanceOf` is always the sum of a
/// holder's partition balances. Plain ERC-20 `transfer` / `transferFrom` and ERC-1594
/// `transferWithData` / `transferFromWithData` move units of `defaultPartition`; a transfer
/// by partition keeps the partition (the destination partition is the source partition).
///
/// Status codes use the ERC-1400 meanings of 0x50-0x5F (not ERC-1066's), each with a bytes32
/// reason naming the check. The check order (first failure wins):
///   1. 0x54 TRANSFERS_PAUSED         the validator is paused
///   2. 0x53 ALLOWANCE_EXCEEDED       transferFrom: the spender's allowance is too small
///      0x58 OPERATOR_NOT_AUTHORIZED  by partition: the caller is not the holder, not an
///                                    operator (global or for the partition), not a controller
///   3. 0x57 RECEIVER_ZERO_ADDRESS    the recipient is the zero address
///   4. 0x56 SENDER_NOT_WHITELISTED
///   5. 0x57 RECEIVER_NOT_WHITELISTED
///   6. 0x55 SENDER_LOCKED_UP         before the sender's lock-up end time
///   7. 0x52 WRONG_PARTITION          the sender holds units, but none in this partition
///      0x52 INSUFFICIENT_BALANCE     not enough units in this partition
///   otherwise 0x51 SUCCESS.
/// `canTransfer` / `canTransferFrom` return the interface shape `(bool, bytes1, bytes32)`;
/// `canTransferByPartition` returns `(bytes1 status, bytes32 reason, bytes32 destination)`.
/// The caller of a `can*` view is the operator / spender, so call it `from` that address.
/// A refused transfer reverts with `TransferRefused(status, reason)` - the same pair.
///
/// Issuance (owner) needs a whitelisted, non-zero holder and `isIssuable()`; it is not stopped
/// by the pause. Redemption by a holder or operator obeys the pause and the balance.
/// Controllers (ERC-1644, set by the owner while `isControllable()`) move or redeem any
/// holder's units with `controllerTransfer` / `controllerRedeem`, bypassing the validator
/// (only the balance and a non-zero recipient are checked); units are taken from the default
/// partition first, then from the holder's other partitions in `partitionsOf` order.
/// A controller is also every holder's operator: `operatorTransferByPartition` by a
/// controller that the holder did not authorise (for the partition or globally) is a forced
/// transfer and logs `ControllerTransfer` too; one the holder authorised is the holder's own
/// decision and does not. (So an escrow the holder authorised is checked with one storage
/// read, whoever else it is.)
/// Partition allowances (as ConsenSys' UniversalToken has them): `approveByPartition` lets
/// a spender move up to that many units of one partition with `operatorTransferByPartition`
/// without being an operator; a non-zero allowance that covers the value is checked first
/// and each such transfer spends its amount (an allowance spent to zero refunds most of its
/// write, so an escrow approved for exactly the amount is authorised as cheaply as through an
/// ERC-20 allowance; an operator pays one more storage read for it). Spending it is the
/// holder's decision: no `ControllerTransfer`. `canTransferByPartition` counts it.
/// `transferByPartition` and `operatorTransferByPartition` run `_check`'s steps in its order
/// inline (`_transferByPartition`: each word read once, the data logged from calldata).
/// Documents (ERC-1643) are set and removed by the owner.
contract SecurityToken1400 is IERC20Metadata, Ownable {
    bytes1 internal constant FAILURE = 0x50;
    bytes1 internal constant SUCCESS = 0x51;
    bytes1 internal constant INSUFFICIENT_BALANCE = 0x52;
    bytes1 internal constant INSUFFICIENT_ALLOWANCE = 0x53;
    bytes1 internal constant HALTED = 0x54;
    bytes1 internal constant LOCKED = 0x55;
    bytes1 internal constant INVALID_SENDER = 0x56;
    bytes1 internal constant INVALID_RECEIVER = 0x57;
    bytes1 internal constant INVALID_OPERATOR = 0x58;

    struct Document {
        string uri;
        bytes32 docHash;
        uint256 lastModified;
    }

    string private _name;
    string private _symbol;
    uint8 private immutable _decimals;
    /// @notice The partition that ERC-20 and ERC-1594 transfers draw from.
    bytes32 public immutable defaultPartition;

    uint256 private _totalSupply;
    mapping(address => uint256) private _balances;
    mapping(address => mapping(address => uint256)) private _allowances;
    mapping(address => mapping(bytes32 => uint256)) private _byPartition;
    mapping(address => bytes32[]) private _partitions;
    mapping(address => mapping(bytes32 => uint256)) private _partitionSlot; // index + 1
    mapping(bytes32 => uint256) private _supplyByPartition;

    mapping(address => mapping(address => bool)) private _operators;
    mapping(address => mapping(bytes32 => mapping(address => bool))) private _partitionOperators;
    // Partition allowances are not a declared variable: each is the storage word whose slot
    // number is `_allowanceKey(holder, partition, spender)`, the keccak-256 of a 96-byte
    // preimage (one hash where three nested mappings take three). Solidity places mapping
    // values at hashes of 64-byte preimages and array elements at hashes of 32 bytes, so no
    // declared variable can ever share that slot, short of a keccak-256 collision.

    address[] private _controllers;
    mapping(address => bool) private _isController;
    bool private _controllable = true;
    bool private _issuable = true;

    mapping(address => bool) private _whitelisted;
    mapping(address => uint64) private _lockupUntil;
    bool private _paused;

    mapping(bytes32 => Document) private _documents;
    bytes32[] private _documentNames;
    mapping(bytes32 => uint256) private _documentSlot; // index + 1

    // ERC-1410
    event TransferByPartition(
        bytes32 indexed fromPartition,
        address operator,
        address indexed from,
        address indexed to,
        uint256 value,
        bytes data,
        bytes operatorData
    );
    event AuthorizedOperator(address indexed operator, address indexed tokenHolder);
    event RevokedOperator(address indexed operator, address indexed tokenHolder);
    event AuthorizedOperatorByPartition(
        bytes32 indexed partition, address indexed operator, address indexed tokenHolder
    );
    event RevokedOperatorByPartition(
        bytes32 indexed partition, address indexed operator, address indexed tokenHolder
    );
    event ApprovalByPartition(
        bytes32 indexed partition, address indexed owner, address indexed spender, uint256 value
    );
    event IssuedByPartition(
        bytes32 indexed partition,
        address indexed operator,
        address indexed to,
        uint256 amount,
        bytes data,
        bytes operatorData
    );
    event RedeemedByPartition(
        bytes32 indexed partition,
        address indexed operator,
        address indexed from,
        uint256 amount,
        bytes operatorData
    );
    // ERC-1594
    event Issued(address indexed operator, address indexed to, uint256 value, bytes data);
    event Redeemed(address indexed operator, address indexed from, uint256 value, bytes data);
    // ERC-1643
    event DocumentUpdated(bytes32 indexed name, string uri, bytes32 documentHash);
    event DocumentRemoved(bytes32 indexed name, string uri, bytes32 documentHash);
    // ERC-1644
    event ControllerTransfer(
        address controller,
        address indexed from,
        address indexed to,
        uint256 value,
        bytes data,
        bytes operatorData
    );
    event ControllerRedemption(
        address controller, address indexed tokenHolder, uint256 value, bytes data, bytes operatorData
    );
    // controllers and validator
    event ControllersSet(address[] controllers);
    event WhitelistUpdated(address indexed account, bool whitelisted);
    event LockupSet(address indexed account, uint64 until);
    event Paused(address account);
    event Unpaused(address account);

    /// @notice A transfer, issuance or redemption was refused with an ERC-1400 status.
    error TransferRefused(bytes1 status, bytes32 reason);
    /// @notice The caller is not a controller, or control was renounced.
    error NotController(address account);
    /// @notice Issuance was finished for good.
    error IssuanceFinished();
    /// @notice The document does not exist.
    error DocumentNotFound(bytes32 name);

    constructor(
        string memory name_,
        string memory symbol_,
        uint8 decimals_,
        bytes32 defaultPartition_,
        address owner_
    ) Ownable(owner_) {
        _name = name_;
        _symbol = symbol_;
        _decimals = decimals_;
        defaultPartition = defaultPartition_;
    }

    // ---------------------------------------------------------------- ERC-20

    function name() external view returns (string memory) {
        return _name;
    }

    function symbol() external view returns (string memory) {
        return _symbol;
    }

    function decimals() external view returns (uint8) {
        return _decimals;
    }

    function totalSupply() external view returns (uint256) {
        return _totalSupply;
    }

    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    function allowance(address holder, address spender) external view returns (uint256) {
        return _allowances[holder][spender];
    }

    function approve(address spender, uint256 value) external returns (bool) {
        _allowances[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transferChecked(defaultPartition, msg.sender, to, value, "", "", false);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        _transferChecked(defaultPartition, from, to, value, "", "", true);
        return true;
    }

    // ---------------------------------------------------------------- ERC-1410

    function balanceOfByPartition(bytes32 partition, address holder)
        external
        view
        returns (uint256)
    {
        return _byPartition[holder][partition];
    }

    function partitionsOf(address holder) external view returns (bytes32[] memory) {
        return _partitions[holder];
    }

    /// @notice Units issued in `partition` and not redeemed.
    function totalSupplyByPartition(bytes32 partition) external view returns (uint256) {
        return _supplyByPartition[partition];
    }

    function transferByPartition(bytes32 partition, address to, uint256 value, bytes calldata data)
        external
        returns (bytes32)
    {
        _transferByPartition(partition, msg.sender, to, value, data, msg.data[0:0]);
        return partition;
    }

    function operatorTransferByPartition(
        bytes32 partition,
        address from,
        address to,
        uint256 value,
        bytes calldata data,
        bytes calldata operatorData
    ) external returns (bytes32) {
        _transferByPartition(partition, from, to, value, data, operatorData);
        return partition;
    }

    /// @notice `holder`'s allowance to `spender` in `partition`: what `spender` may still move
    /// out of it with `operatorTransferByPartition` without being an operator.
    function allowanceByPartition(bytes32 partition, address holder, address spender)
        external
        view
        returns (uint256)
    {
        return _load(_allowanceKey(holder, partition, spender));
    }

    /// @notice Let `spender` move up to `value` of the caller's units of `partition` with
    /// `operatorTransferByPartition` (each transfer spends its amount; replaces the last one).
    function approveByPartition(bytes32 partition, address spender, uint256 value)
        external
        returns (bool)
    {
        _save(_allowanceKey(msg.sender, partition, spender), value);
        emit ApprovalByPartition(partition, msg.sender, spender, value);
        return true;
    }

    function canTransferByPartition(
        address from,
        address to,
        bytes32 partition,
        uint256 value,
        bytes calldata
    ) external view returns (bytes1, bytes32, bytes32) {
        (bytes1 status, bytes32 reason) = _check(partition, msg.sender, from, to, value, false);
        return (status, reason, partition);
    }

    function isOperator(address operator, address holder) public view returns (bool) {
        return operator == holder || _operators[holder][operator]
            || (_controllable && _isController[operator]);
    }

    function isOperatorForPartition(bytes32 partition, address operator, address holder)
        public
        view
        returns (bool)
    {
        return _authorisedByHolder(partition, operator, holder) || isOperator(operator, holder);
    }

    /// @dev Whether `holder` itself authorised `operator` for `partition` (for that partition
    /// first: an escrow authorised for one partition, the HTLC's lockPartition, is answered
    /// by one storage read, and the answer is warm when asked again).
    function _authorisedByHolder(bytes32 partition, address operator, address holder)
        internal
        view
        returns (bool)
    {
        return _partitionOperators[holder][partition][operator] || _operators[holder][operator];
    }

    function authorizeOperator(address operator) external {
        _operators[msg.sender][operator] = true;
        emit AuthorizedOperator(operator, msg.sender);
    }

    function revokeOperator(address operator) external {
        _operators[msg.sender][operator] = false;
        emit RevokedOperator(operator, msg.sender);
    }

    function authorizeOperatorByPartition(bytes32 partition, address operator) external {
        _partitionOperators[msg.sender][partition][operator] = true;
        emit AuthorizedOperatorByPartition(partition, operator, msg.sender);
    }

    function revokeOperatorByPartition(bytes32 partition, address operator) external {
        _partitionOperators[msg.sender][partition][operator] = false;
        emit RevokedOperatorByPartition(partition, operator, msg.sender);
    }

    function issueByPartition(bytes32 partition, address holder, uint256 value, bytes calldata data)
        external
        onlyOwner
    {
        _issue(partition, holder, value, data);
    }

    function redeemByPartition(bytes32 partition, uint256 value, bytes calldata data) external {
        _redeemChecked(partition, msg.sender, value, data, "");
    }

    function operatorRedeemByPartition(
        bytes32 partition,
        address holder,
        uint256 value,
        bytes calldata data,
        bytes calldata operatorData
    ) external {
        if (!isOperatorForPartition(partition, msg.sender, holder)) {
            revert TransferRefused(INVALID_OPERATOR, "OPERATOR_NOT_AUTHORIZED");
        }
        _redeemChecked(partition, holder, value, data, operatorData);
    }

    // ---------------------------------------------------------------- ERC-1594

    function transferWithData(address to, uint256 value, bytes calldata data) external {
        _transferChecked(defaultPartition, msg.sender, to, value, data, "", false);
    }

    function transferFromWithData(address from, address to, uint256 value, bytes calldata data)
        external
    {
        _transferChecked(defaultPartition, from, to, value, data, "", true);
    }

    function canTransfer(address to, uint256 value, bytes calldata)
        external
        view
        returns (bool, bytes1, bytes32)
    {
        (bytes1 status, bytes32 reason) =
            _check(defaultPartition, msg.sender, msg.sender, to, value, false);
        return (status == SUCCESS, status, reason);
    }

    function canTransferFrom(address from, address to, uint256 value, bytes calldata)
        external
        view
        returns (bool, bytes1, bytes32)
    {
        (bytes1 status, bytes32 reason) =
            _check(defaultPartition, msg.sender, from, to, value, true);
        return (status == SUCCESS, status, reason);
    }

    function isIssuable() external view returns (bool) {
        return _issuable;
    }

    function issue(address holder, uint256 value, bytes calldata data) external onlyOwner {
        _issue(defaultPartition, holder, value, data);
    }

    function redeem(uint256 value, bytes calldata data) external {
        _redeemChecked(defaultPartition, msg.sender, value, data, "");
    }

    function redeemFrom(address holder, uint256 value, bytes calldata data) external {
        uint256 allowed = _allowances[holder][msg.sender];
        if (msg.sender != holder && allowed < value) {
            revert TransferRefused(INSUFFICIENT_ALLOWANCE, "ALLOWANCE_EXCEEDED");
        }
        if (msg.sender != holder) _allowances[holder][msg.sender] = allowed - value;
        _redeemChecked(defaultPartition, holder, value, data, "");
    }

    /// @notice Stop issuance for good.
    function finishIssuance() external onlyOwner {
        _issuable = false;
    }

    // ---------------------------------------------------------------- ERC-1643

    function getDocument(bytes32 docName) external view returns (string memory, bytes32, uint256) {
        if (_documentSlot[docName] == 0) revert DocumentNotFound(docName);
        Document storage doc = _documents[docName];
        return (doc.uri, doc.docHash, doc.lastModified);
    }

    function setDocument(bytes32 docName, string calldata uri, bytes32 documentHash)
        external
        onlyOwner
    {
        if (_documentSlot[docName] == 0) {
            _documentNames.push(docName);
            _documentSlot[docName] = _documentNames.length;
        }
        _documents[docName] = Document(uri, documentHash, block.timestamp);
        emit DocumentUpdated(docName, uri, documentHash);
    }

    function removeDocument(bytes32 docName) external onlyOwner {
        uint256 slot = _documentSlot[docName];
        if (slot == 0) revert DocumentNotFound(docName);
        bytes32 last = _documentNames[_documentNames.length - 1];
        _documentNames[slot - 1] = last;
        _documentSlot[last] = slot;
        _documentNames.pop();
        delete _documentSlot[docName];
        Document memory doc = _documents[docName];
        delete _documents[docName];
        emit DocumentRemoved(docName, doc.uri, doc.docHash);
    }

    function getAllDocuments() external view returns (bytes32[] memory) {
        return _documentNames;
    }

    // ---------------------------------------------------------------- ERC-1644

    function isControllable() external view returns (bool) {
        return _controllable;
    }

    /// @notice Current controllers (empty once control is renounced).
    function controllers() external view returns (address[] memory) {
        if (!_controllable) return new address[](0);
        return _controllers;
    }

    /// @notice Replace the set of controllers.
    function setControllers(address[] calldata newControllers) external onlyOwner {
        for (uint256 i = 0; i < _controllers.length; i++) {
            _isController[_controllers[i]] = false;
        }
        delete _controllers;
        for (uint256 i = 0; i < newControllers.length; i++) {
            _controllers.push(newControllers[i]);
            _isController[newControllers[i]] = true;
        }
        emit ControllersSet(newControllers);
    }

    /// @notice Give up controller powers for good.
    function renounceControl() external onlyOwner {
        _controllable = false;
    }

    function controllerTransfer(
        address from,
        address to,
        uint256 value,
        bytes calldata data,
        bytes calldata operatorData
    ) external {
        _requireController();
        if (to == address(0)) revert TransferRefused(INVALID_RECEIVER, "RECEIVER_ZERO_ADDRESS");
        _drain(from, to, value, data, operatorData);
        emit ControllerTransfer(msg.sender, from, to, value, data, operatorData);
    }

    function controllerRedeem(
        address holder,
        uint256 value,
        bytes calldata data,
        bytes calldata operatorData
    ) external {
        _requireController();
        _drain(holder, address(0), value, data, operatorData);
        emit ControllerRedemption(msg.sender, holder, value, data, operatorData);
    }

    // ---------------------------------------------------------------- validator

    function isWhitelisted(address account) external view returns (bool) {
        return _whitelisted[account];
    }

    function lockupUntil(address account) external view returns (uint64) {
        return _lockupUntil[account];
    }

    function paused() external view returns (bool) {
        return _paused;
    }

    function setWhitelisted(address account, bool whitelisted) external onlyOwner {
        _whitelisted[account] = whitelisted;
        emit WhitelistUpdated(account, whitelisted);
    }

    function setLockup(address account, uint64 until) external onlyOwner {
        _lockupUntil[account] = until;
        emit LockupSet(account, until);
    }

    function pause() external onlyOwner {
        _paused = true;
        emit Paused(msg.sender);
    }

    function unpause() external onlyOwner {
        _paused = false;
        emit Unpaused(msg.sender);
    }

    // ---------------------------------------------------------------- internals

    function _check(
        bytes32 partition,
        address operator,
        address from,
        address to,
        uint256 value,
        bool spendsAllowance
    ) internal view returns (bytes1, bytes32) {
        if (_paused) return (HALTED, "TRANSFERS_PAUSED");
        if (operator != from) {
            if (spendsAllowance) {
                if (_allowances[from][operator] < value) {
                    return (INSUFFICIENT_ALLOWANCE, "ALLOWANCE_EXCEEDED");
                }
            } else if (
                !_allowanceCovers(_load(_allowanceKey(from, partition, operator)), value)
                    && !isOperatorForPartition(partition, operator, from)
            ) {
                return (INVALID_OPERATOR, "OPERATOR_NOT_AUTHORIZED");
            }
        }
        if (to == address(0)) return (INVALID_RECEIVER, "RECEIVER_ZERO_ADDRESS");
        if (!_whitelisted[from]) return (INVALID_SENDER, "SENDER_NOT_WHITELISTED");
        if (!_whitelisted[to]) return (INVALID_RECEIVER, "RECEIVER_NOT_WHITELISTED");
        if (block.timestamp < _lockupUntil[from]) return (LOCKED, "SENDER_LOCKED_UP");
        if (_byPartition[from][partition] < value) {
            if (_partitionSlot[from][partition] == 0 && _balances[from] != 0) {
                return (INSUFFICIENT_BALANCE, "WRONG_PARTITION");
            }
            return (INSUFFICIENT_BALANCE, "INSUFFICIENT_BALANCE");
        }
        return (SUCCESS, "SUCCESS");
    }

    /// @dev A transfer by partition, `msg.sender` the operator: `_check`'s steps in its order,
    /// each storage word read once (the operator's partition allowance first, spent at once:
    /// a refusal after it reverts that too), then the move.
    function _transferByPartition(
        bytes32 partition,
        address from,
        address to,
        uint256 value,
        bytes calldata data,
        bytes calldata operatorData
    ) internal {
        if (_paused) revert TransferRefused(HALTED, "TRANSFERS_PAUSED");
        bool forced;
        if (msg.sender != from) {
            bytes32 key = _allowanceKey(from, partition, msg.sender);
            uint256 allowed = _load(key);
            if (_allowanceCovers(allowed, value)) {
                _save(key, allowed - value);
            } else if (!_authorisedByHolder(partition, msg.sender, from)) {
                if (!_controllable || !_isController[msg.sender]) {
                    revert TransferRefused(INVALID_OPERATOR, "OPERATOR_NOT_AUTHORIZED");
                }
                forced = true; // not by the holder: a controller's forced transfer (see the notice)
            }
        }
        if (to == address(0)) revert TransferRefused(INVALID_RECEIVER, "RECEIVER_ZERO_ADDRESS");
        if (!_whitelisted[from]) revert TransferRefused(INVALID_SENDER, "SENDER_NOT_WHITELISTED");
        if (!_whitelisted[to]) revert TransferRefused(INVALID_RECEIVER, "RECEIVER_NOT_WHITELISTED");
        if (block.timestamp < _lockupUntil[from]) {
            revert TransferRefused(LOCKED, "SENDER_LOCKED_UP");
        }
        if (_byPartition[from][partition] < value) {
            if (_partitionSlot[from][partition] == 0 && _balances[from] != 0) {
                revert TransferRefused(INSUFFICIENT_BALANCE, "WRONG_PARTITION");
            }
            revert TransferRefused(INSUFFICIENT_BALANCE, "INSUFFICIENT_BALANCE");
        }
        // _move, the data logged from calldata
        _debit(from, partition, value);
        _credit(to, partition, value);
        emit Transfer(from, to, value);
        emit TransferByPartition(partition, msg.sender, from, to, value, data, operatorData);
        if (forced) emit ControllerTransfer(msg.sender, from, to, value, data, operatorData);
    }

    function _transferChecked(
        bytes32 partition,
        address from,
        address to,
        uint256 value,
        bytes memory data,
        bytes memory operatorData,
        bool spendsAllowance
    ) internal {
        (bytes1 status, bytes32 reason) =
            _check(partition, msg.sender, from, to, value, spendsAllowance);
        if (status != SUCCESS) revert TransferRefused(status, reason);
        if (spendsAllowance && msg.sender != from) _allowances[from][msg.sender] -= value;
        _move(partition, msg.sender, from, to, value, data, operatorData);
    }

    function _move(
        bytes32 partition,
        address operator,
        address from,
        address to,
        uint256 value,
        bytes memory data,
        bytes memory operatorData
    ) internal {
        _debit(from, partition, value);
        _credit(to, partition, value);
        emit Transfer(from, to, value);
        emit TransferByPartition(partition, operator, from, to, value, data, operatorData);
    }

    function _issue(bytes32 partition, address holder, uint256 value, bytes memory data) internal {
        if (!_issuable) revert IssuanceFinished();
        if (holder == address(0)) revert TransferRefused(INVALID_RECEIVER, "RECEIVER_ZERO_ADDRESS");
        if (!_whitelisted[holder]) {
            revert TransferRefused(INVALID_RECEIVER, "RECEIVER_NOT_WHITELISTED");
        }
        _totalSupply += value;
        _supplyByPartition[partition] += value;
        _credit(holder, partition, value);
        emit Transfer(address(0), holder, value);
        emit Issued(msg.sender, holder, value, data);
        emit IssuedByPartition(partition, msg.sender, holder, value, data, "");
    }

    function _redeemChecked(
        bytes32 partition,
        address holder,
        uint256 value,
        bytes memory data,
        bytes memory operatorData
    ) internal {
        if (_paused) revert TransferRefused(HALTED, "TRANSFERS_PAUSED");
        if (_byPartition[holder][partition] < value) {
            revert TransferRefused(INSUFFICIENT_BALANCE, "INSUFFICIENT_BALANCE");
        }
        _burn(partition, holder, value, data, operatorData);
    }

    function _burn(
        bytes32 partition,
        address holder,
        uint256 value,
        bytes memory data,
        bytes memory operatorData
    ) internal {
        _debit(holder, partition, value);
        _totalSupply -= value;
        _supplyByPartition[partition] -= value;
        emit Transfer(holder, address(0), value);
        emit Redeemed(msg.sender, holder, value, data);
        emit RedeemedByPartition(partition, msg.sender, holder, value, operatorData);
    }

    /// Controller path: default partition first, then the others; `to == 0` redeems.
    function _drain(
        address from,
        address to,
        uint256 value,
        bytes memory data,
        bytes memory operatorData
    ) internal {
        if (_balances[from] < value) {
            revert TransferRefused(INSUFFICIENT_BALANCE, "INSUFFICIENT_BALANCE");
        }
        uint256 left = _drainOne(defaultPartition, from, to, value, data, operatorData);
        bytes32[] memory parts = _partitions[from];
        for (uint256 i = 0; i < parts.length && left != 0; i++) {
            if (parts[i] != defaultPartition) {
                left = _drainOne(parts[i], from, to, left, data, operatorData);
            }
        }
    }

    function _drainOne(
        bytes32 partition,
        address from,
        address to,
        uint256 wanted,
        bytes memory data,
        bytes memory operatorData
    ) internal returns (uint256) {
        uint256 held = _byPartition[from][partition];
        uint256 take = held < wanted ? held : wanted;
        if (take == 0) return wanted;
        if (to == address(0)) {
            _burn(partition, from, take, data, operatorData);
        } else {
            _move(partition, msg.sender, from, to, take, data, operatorData);
        }
        return wanted - take;
    }

    function _debit(address holder, bytes32 partition, uint256 value) internal {
        uint256 held = _byPartition[holder][partition];
        _byPartition[holder][partition] = held - value;
        _balances[holder] -= value;
        if (held == value && value != 0) {
            uint256 slot = _partitionSlot[holder][partition];
            bytes32[] storage parts = _partitions[holder];
            bytes32 last = parts[parts.length - 1];
            parts[slot - 1] = last;
            _partitionSlot[holder][last] = slot;
            parts.pop();
            delete _partitionSlot[holder][partition];
        }
    }

    function _credit(address holder, bytes32 partition, uint256 value) internal {
        if (value == 0) return;
        if (_partitionSlot[holder][partition] == 0) {
            _partitions[holder].push(partition);
            _partitionSlot[holder][partition] = _partitions[holder].length;
        }
        _byPartition[holder][partition] += value;
        _balances[holder] += value;
    }

    /// @dev The slot of a partition allowance (see the storage notes): keccak256(abi.encode(
    /// holder, partition, spender)), hashed in memory above the free pointer (left as it was).
    function _allowanceKey(address holder, bytes32 partition, address spender)
        internal
        pure
        returns (bytes32 key)
    {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, holder)
            mstore(add(p, 0x20), partition)
            mstore(add(p, 0x40), spender)
            key := keccak256(p, 0x60)
        }
    }

    /// @dev Whether a partition allowance authorises moving `value` (never one of zero).
    function _allowanceCovers(uint256 allowed, uint256 value) internal pure returns (bool) {
        return allowed >= value && allowed != 0;
    }

    function _load(bytes32 slot) internal view returns (uint256 value) {
        assembly ("memory-safe") {
            value := sload(slot)
        }
    }

    function _save(bytes32 slot, uint256 value) internal {
        assembly ("memory-safe") {
            sstore(slot, value)
        }
    }

    function _requireController() internal view {
        if (!_controllable || !_isController[msg.sender]) revert NotController(msg.sender);
    }
}
