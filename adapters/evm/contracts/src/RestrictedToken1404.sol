// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title The ERC-1404 (Simple Restricted Token) interface.
interface IERC1404 {
    /// @notice 0 when `value` may move from `from` to `to`, otherwise a restriction code.
    function detectTransferRestriction(address from, address to, uint256 value)
        external
        view
        returns (uint8);

    /// @notice Human-readable text of a restriction code ("SUCCESS" for 0).
    function messageForTransferRestriction(uint8 restrictionCode)
        external
        view
        returns (string memory);
}

/// @title RestrictedToken1404: an ERC-20 security token with ERC-1404 transfer restrictions.
/// @notice Restrictions: an allow-list (whitelist) of holders, a lock-up end time per holder,
/// a cap on the number of holders with a non-zero balance, and a pause switch.
///
/// Restriction codes are fixed in this contract (stable across deployments):
///   0 SUCCESS
///   1 ALL_TRANSFERS_PAUSED
///   2 ILLEGAL_TRANSFER_SENDING_ACCOUNT_NOT_WHITELISTED
///   3 DO_NOT_SEND_TO_EMPTY_ADDRESS
///   4 ILLEGAL_TRANSFER_RECEIVING_ACCOUNT_NOT_WHITELISTED
///   5 SENDER_TOKENS_TIME_LOCKED
///   6 INSUFFICIENT_BALANCE
///   7 ILLEGAL_TRANSFER_MAXIMUM_NUMBER_OF_SHAREHOLDERS_REACHED
/// Any other code reads "UNKNOWN_RESTRICTION". Checks run in exactly that order (1..7) and the
/// first that fails is returned; `transfer` and `transferFrom` revert with
/// `TransferRestricted(code)` on any non-zero code (after the ERC-20 allowance check for
/// `transferFrom`).
///
/// The holder cap counts addresses with a non-zero balance. A transfer to an address with a
/// zero balance is refused when the count has reached the cap, unless the sender's whole
/// balance moves (the count then stays the same). A cap of 0 means no cap.
///
/// Issuer operations: `mint` needs a whitelisted recipient and respects the holder cap (it
/// reverts with `TransferRestricted(4)` or `(7)`); `burn` redeems from any holder. Neither is
/// stopped by the pause. Roles: DEFAULT_ADMIN_ROLE grants roles; ISSUER_ROLE mints and burns;
/// COMPLIANCE_ROLE edits the whitelist, lock-ups, the holder cap and pauses.
contract RestrictedToken1404 is ERC20, AccessControl, Pausable, IERC1404 {
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");
    bytes32 public constant COMPLIANCE_ROLE = keccak256("COMPLIANCE_ROLE");

    uint8 public constant SUCCESS = 0;
    uint8 public constant PAUSED = 1;
    uint8 public constant SENDER_NOT_WHITELISTED = 2;
    uint8 public constant RECIPIENT_EMPTY = 3;
    uint8 public constant RECIPIENT_NOT_WHITELISTED = 4;
    uint8 public constant SENDER_LOCKED = 5;
    uint8 public constant INSUFFICIENT_BALANCE = 6;
    uint8 public constant MAX_HOLDERS_REACHED = 7;

    uint8 private immutable _decimals;
    mapping(address account => bool) private _whitelisted;
    mapping(address account => uint64) private _lockupUntil;
    uint256 private _maxHolders;
    uint256 private _holderCount;

    /// @notice `account` was added to (true) or removed from (false) the whitelist.
    event WhitelistUpdated(address indexed account, bool whitelisted);
    /// @notice `account` cannot send before `until` (unix seconds; 0 clears the lock-up).
    event LockupSet(address indexed account, uint64 until);
    /// @notice The holder cap is now `maxHolders` (0: no cap).
    event MaxHoldersSet(uint256 maxHolders);

    /// @notice A transfer or mint broke restriction `code` (see messageForTransferRestriction).
    error TransferRestricted(uint8 code);

    constructor(
        string memory name_,
        string memory symbol_,
        uint8 decimals_,
        uint256 maxHolders_,
        address issuer_
    ) ERC20(name_, symbol_) {
        _decimals = decimals_;
        _maxHolders = maxHolders_;
        _grantRole(DEFAULT_ADMIN_ROLE, issuer_);
        _grantRole(ISSUER_ROLE, issuer_);
        _grantRole(COMPLIANCE_ROLE, issuer_);
        emit MaxHoldersSet(maxHolders_);
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Whether `account` is on the whitelist.
    function isWhitelisted(address account) external view returns (bool) {
        return _whitelisted[account];
    }

    /// @notice Unix time before which `account` cannot send (0: none).
    function lockupUntil(address account) external view returns (uint64) {
        return _lockupUntil[account];
    }

    /// @notice The holder cap (0: none).
    function maxHolders() external view returns (uint256) {
        return _maxHolders;
    }

    /// @notice Addresses holding a non-zero balance now.
    function holderCount() external view returns (uint256) {
        return _holderCount;
    }

    /// @inheritdoc IERC1404
    function detectTransferRestriction(address from, address to, uint256 value)
        public
        view
        returns (uint8)
    {
        if (paused()) return PAUSED;
        if (!_whitelisted[from]) return SENDER_NOT_WHITELISTED;
        if (to == address(0)) return RECIPIENT_EMPTY;
        if (!_whitelisted[to]) return RECIPIENT_NOT_WHITELISTED;
        if (block.timestamp < _lockupUntil[from]) return SENDER_LOCKED;
        uint256 fromBalance = balanceOf(from);
        if (fromBalance < value) return INSUFFICIENT_BALANCE;
        if (_addsHolder(to, value) && !(from != to && fromBalance == value)) {
            return MAX_HOLDERS_REACHED;
        }
        return SUCCESS;
    }

    /// @inheritdoc IERC1404
    function messageForTransferRestriction(uint8 restrictionCode)
        external
        pure
        returns (string memory)
    {
        if (restrictionCode == SUCCESS) return "SUCCESS";
        if (restrictionCode == PAUSED) return "ALL_TRANSFERS_PAUSED";
        if (restrictionCode == SENDER_NOT_WHITELISTED) {
            return "ILLEGAL_TRANSFER_SENDING_ACCOUNT_NOT_WHITELISTED";
        }
        if (restrictionCode == RECIPIENT_EMPTY) return "DO_NOT_SEND_TO_EMPTY_ADDRESS";
        if (restrictionCode == RECIPIENT_NOT_WHITELISTED) {
            return "ILLEGAL_TRANSFER_RECEIVING_ACCOUNT_NOT_WHITELISTED";
        }
        if (restrictionCode == SENDER_LOCKED) return "SENDER_TOKENS_TIME_LOCKED";
        if (restrictionCode == INSUFFICIENT_BALANCE) return "INSUFFICIENT_BALANCE";
        if (restrictionCode == MAX_HOLDERS_REACHED) {
            return "ILLEGAL_TRANSFER_MAXIMUM_NUMBER_OF_SHAREHOLDERS_REACHED";
        }
        return "UNKNOWN_RESTRICTION";
    }

    /// @inheritdoc ERC20
    function transfer(address to, uint256 value) public override returns (bool) {
        _enforce(_msgSender(), to, value);
        return super.transfer(to, value);
    }

    /// @inheritdoc ERC20
    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        _spendAllowance(from, _msgSender(), value);
        _enforce(from, to, value);
        _transfer(from, to, value);
        return true;
    }

    /// @notice Create `amount` units for a whitelisted `to`, within the holder cap.
    function mint(address to, uint256 amount) external onlyRole(ISSUER_ROLE) {
        if (to == address(0)) revert TransferRestricted(RECIPIENT_EMPTY);
        if (!_whitelisted[to]) revert TransferRestricted(RECIPIENT_NOT_WHITELISTED);
        if (_addsHolder(to, amount)) revert TransferRestricted(MAX_HOLDERS_REACHED);
        _mint(to, amount);
    }

    /// @notice Redeem `amount` units from `from` (issuer redemption; no restriction applies).
    function burn(address from, uint256 amount) external onlyRole(ISSUER_ROLE) {
        _burn(from, amount);
    }

    /// @notice Add `account` to, or remove it from, the whitelist.
    function setWhitelisted(address account, bool whitelisted) external onlyRole(COMPLIANCE_ROLE) {
        _whitelisted[account] = whitelisted;
        emit WhitelistUpdated(account, whitelisted);
    }

    /// @notice `account` cannot send before `until` (unix seconds); 0 clears it.
    function setLockup(address account, uint64 until) external onlyRole(COMPLIANCE_ROLE) {
        _lockupUntil[account] = until;
        emit LockupSet(account, until);
    }

    /// @notice Set the holder cap (0: no cap). Existing holders are never removed.
    function setMaxHolders(uint256 maxHolders_) external onlyRole(COMPLIANCE_ROLE) {
        _maxHolders = maxHolders_;
        emit MaxHoldersSet(maxHolders_);
    }

    /// @notice Stop every transfer (mint and burn still work).
    function pause() external onlyRole(COMPLIANCE_ROLE) {
        _pause();
    }

    /// @notice Resume transfers.
    function unpause() external onlyRole(COMPLIANCE_ROLE) {
        _unpause();
    }

    function _addsHolder(address to, uint256 value) private view returns (bool) {
        return _maxHolders != 0 && value != 0 && balanceOf(to) == 0 && _holderCount >= _maxHolders;
    }

    function _enforce(address from, address to, uint256 value) private view {
        uint8 code = detectTransferRestriction(from, to, value);
        if (code != SUCCESS) revert TransferRestricted(code);
    }

    function _update(address from, address to, uint256 value) internal override {
        bool fromHeld = from != address(0) && balanceOf(from) != 0;
        bool toHeld = to != address(0) && balanceOf(to) != 0;
        super._update(from, to, value);
        if (from != address(0) && fromHeld && balanceOf(from) == 0) _holderCount -= 1;
        if (to != address(0) && !toHeld && balanceOf(to) != 0) _holderCount += 1;
    }
}
