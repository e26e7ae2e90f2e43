// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title PersonalInfo: the investor register of ibet-compatible security tokens.
/// @notice Written for stbridge, following the public ibet `PersonalInfo` interface
/// (functions, events and 40XXXX revert codes). An investor registers with an issuer (the
/// "link" address) by storing personal information encrypted off-chain with the issuer's key;
/// an ibet token refuses to deliver to a receiver that has not registered with its issuer.
///
/// Revert codes (revert strings):
///   400001  modify: the account has not registered with the caller
///   400002  modify: the registration is not linked to the caller
contract PersonalInfo {
    /// @notice One registration: who, with which issuer, and the encrypted information.
    struct Info {
        address account_address;
        address link_address;
        string encrypted_info;
    }

    /// @notice Registrations by account, then by issuer (link address).
    mapping(address => mapping(address => Info)) public personal_info;

    /// @notice An account registered (or was registered by) an issuer.
    event Register(address indexed account_address, address indexed link_address);

    /// @notice An issuer modified an account's registration.
    event Modify(address indexed account_address, address indexed link_address);

    constructor() {}

    /// @notice Register the caller with issuer `_link_address`; returns true.
    function register(address _link_address, string memory _encrypted_info) public returns (bool) {
        Info storage info = personal_info[msg.sender][_link_address];
        info.account_address = msg.sender;
        info.link_address = _link_address;
        info.encrypted_info = _encrypted_info;
        emit Register(msg.sender, _link_address);
        return true;
    }

    /// @notice The caller (an issuer) registers `_account_address` with itself; returns true.
    function forceRegister(address _account_address, string memory _encrypted_info)
        public
        returns (bool)
    {
        Info storage info = personal_info[_account_address][msg.sender];
        info.account_address = _account_address;
        info.link_address = msg.sender;
        info.encrypted_info = _encrypted_info;
        emit Register(_account_address, msg.sender);
        return true;
    }

    /// @notice The caller (an issuer) replaces the encrypted information of an account;
    /// returns true.
    function modify(address _account_address, string memory _encrypted_info)
        public
        returns (bool)
    {
        Info storage info = personal_info[_account_address][msg.sender];
        if (info.account_address != _account_address) revert("400001");
        if (info.link_address != msg.sender) revert("400002");
        info.encrypted_info = _encrypted_info;
        emit Modify(_account_address, msg.sender);
        return true;
    }

    /// @notice True when `_account_address` has registered with issuer `_link_address`.
    function isRegistered(address _account_address, address _link_address)
        public
        view
        returns (bool)
    {
        return personal_info[_account_address][_link_address].account_address != address(0);
    }
}
