// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeToken: a test-only ERC-20 that keeps a fee on every transfer.
/// @notice The recipient of a transfer gets `value` minus `feeBasisPoints` / 10,000 of it; the
/// fee goes to the deployer. Used to show that the HTLC refuses a token that delivers less
/// than the amount locked. Anyone may mint: never deploy this outside tests.
contract FeeToken is ERC20 {
    uint256 public immutable feeBasisPoints;
    address public immutable feeCollector;

    constructor(uint256 feeBasisPoints_) ERC20("Fee Token", "FEE") {
        feeBasisPoints = feeBasisPoints_;
        feeCollector = msg.sender;
    }

    /// @notice Mint `value` to `to` (test token: unrestricted).
    function mint(address to, uint256 value) external {
        _mint(to, value);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0) || feeBasisPoints == 0) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = (value * feeBasisPoints) / 10_000;
        super._update(from, feeCollector, fee);
        super._update(from, to, value - fee);
    }
}
