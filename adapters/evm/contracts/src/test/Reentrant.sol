// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Test-only contracts that call back into the HTLC while it is paying or pulling.
/// @notice Each one, once armed with a target and calldata, makes that call from inside a
/// transfer and records whether it succeeded and what it returned, without reverting
/// itself, so a test can see what the HTLC allowed. Never deploy these outside tests.
abstract contract Reenters {
    address public target;
    bytes public payload;
    bool public attempted;
    bool public attackSucceeded;
    bytes public attackReturn;

    /// @notice Make `data` to `target_` the next time a transfer reaches this contract.
    function arm(address target_, bytes calldata data) external {
        target = target_;
        payload = data;
    }

    function _attack() internal {
        if (payload.length == 0) return;
        bytes memory data = payload;
        delete payload;
        attempted = true;
        (bool ok, bytes memory ret) = target.call(data);
        attackSucceeded = ok;
        attackReturn = ret;
    }
}

/// @notice An ERC-20 whose every transfer calls back into the armed target once.
contract ReentrantToken is ERC20, Reenters {
    constructor() ERC20("Reentrant Token", "REE") {}

    /// @notice Mint `value` to `to` (test token: unrestricted).
    function mint(address to, uint256 value) external {
        _mint(to, value);
    }

    /// @notice Let `spender` move this contract's own tokens (so it can lock them itself).
    function approveFromSelf(address spender, uint256 value) external {
        _approve(address(this), spender, value);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && to != address(0)) _attack();
    }
}

/// @notice A native-coin receiver that calls back into the armed target once on payment.
contract ReentrantReceiver is Reenters {
    /// @notice Total native coin received.
    uint256 public received;

    receive() external payable {
        received += msg.value;
        _attack();
    }
}
