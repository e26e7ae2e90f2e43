// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title CashToken: an ERC-20 stablecoin for the cash leg of a delivery-versus-payment trade.
/// @notice One contract serves every currency: stbridge deploys it as a USD coin with 6
/// decimals and as a JPY coin with 0 decimals (the yen has no minor unit in ISO 4217, so one
/// base unit is one yen). `currency()` names the ISO 4217 code the coin is redeemable in.
///
/// Roles (OpenZeppelin AccessControl; the constructor gives all three to `issuer`):
/// - DEFAULT_ADMIN_ROLE grants and revokes roles;
/// - ISSUER_ROLE mints to an address and burns from its own balance (redemption: the holder
///   sends coins to the issuer, who burns them);
/// - COMPLIANCE_ROLE blocks and unblocks addresses and pauses the coin.
///
/// Every failure is a custom error (never a revert string):
/// - `AccountBlocked(account)`: a blocked address is the sender, the recipient, or the
///   spender of a `transferFrom`;
/// - OpenZeppelin's `EnforcedPause()` / `ExpectedPause()`, `ERC20InsufficientBalance`,
///   `ERC20InsufficientAllowance`, `ERC20InvalidReceiver`, `ERC20InvalidSender`,
///   `AccessControlUnauthorizedAccount(account, role)`.
///
/// Check order of a transfer (the adapter's dry run follows it):
/// `transferFrom` only: spender blocked, then allowance; then for every move:
/// 1. recipient is the zero address (ERC20InvalidReceiver);
/// 2. paused (EnforcedPause) - mint and burn stop too;
/// 3. sender blocked (AccountBlocked(from));
/// 4. recipient blocked (AccountBlocked(to));
/// 5. balance (ERC20InsufficientBalance).
contract CashToken is ERC20, AccessControl, Pausable {
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");
    bytes32 public constant COMPLIANCE_ROLE = keccak256("COMPLIANCE_ROLE");

    uint8 private immutable _decimals;
    string private _currency;
    address private immutable _issuer;
    mapping(address account => bool) private _blocked;

    /// @notice `account` may not send, receive or spend any more.
    event Blocked(address indexed account);
    /// @notice `account` may send and receive again.
    event Unblocked(address indexed account);

    /// @notice A blocked address took part in a transfer.
    error AccountBlocked(address account);

    constructor(
        string memory name_,
        string memory symbol_,
        uint8 decimals_,
        string memory currency_,
        address issuer_
    ) ERC20(name_, symbol_) {
        _decimals = decimals_;
        _currency = currency_;
        _issuer = issuer_;
        _grantRole(DEFAULT_ADMIN_ROLE, issuer_);
        _grantRole(ISSUER_ROLE, issuer_);
        _grantRole(COMPLIANCE_ROLE, issuer_);
    }

    /// @notice Base-unit exponent: 6 for the USD coin, 0 for the JPY coin.
    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice ISO 4217 code of the currency one whole coin is redeemable for.
    function currency() external view returns (string memory) {
        return _currency;
    }

    /// @notice The issuer named at deployment (first holder of every role).
    function issuer() external view returns (address) {
        return _issuer;
    }

    /// @notice Whether `account` is on the blocklist.
    function isBlocked(address account) external view returns (bool) {
        return _blocked[account];
    }

    /// @notice Create `amount` base units for `to`.
    function mint(address to, uint256 amount) external onlyRole(ISSUER_ROLE) {
        _mint(to, amount);
    }

    /// @notice Destroy `amount` base units from the caller's own balance.
    function burn(uint256 amount) external onlyRole(ISSUER_ROLE) {
        _burn(_msgSender(), amount);
    }

    /// @notice Put `account` on the blocklist.
    function blockAccount(address account) external onlyRole(COMPLIANCE_ROLE) {
        if (!_blocked[account]) {
            _blocked[account] = true;
            emit Blocked(account);
        }
    }

    /// @notice Take `account` off the blocklist.
    function unblockAccount(address account) external onlyRole(COMPLIANCE_ROLE) {
        if (_blocked[account]) {
            _blocked[account] = false;
            emit Unblocked(account);
        }
    }

    /// @notice Stop every transfer, mint and burn.
    function pause() external onlyRole(COMPLIANCE_ROLE) {
        _pause();
    }

    /// @notice Resume transfers.
    function unpause() external onlyRole(COMPLIANCE_ROLE) {
        _unpause();
    }

    /// @inheritdoc ERC20
    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        address spender = _msgSender();
        if (_blocked[spender]) revert AccountBlocked(spender);
        return super.transferFrom(from, to, value);
    }

    function _update(address from, address to, uint256 value) internal override {
        _requireNotPaused();
        if (_blocked[from]) revert AccountBlocked(from);
        if (_blocked[to]) revert AccountBlocked(to);
        super._update(from, to, value);
    }
}
