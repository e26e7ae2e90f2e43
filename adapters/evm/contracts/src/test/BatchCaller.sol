// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title BatchCaller: a test and benchmark wallet that makes many calls in one transaction.
/// @notice Its owner sends one transaction that calls `target` once per entry of `calls`, as
/// this contract (which therefore holds the token roles the calls need: issuer, owner).
/// `stbridge bench holders` uses it to give a token 10,000 holders in a few dozen
/// transactions. All or nothing: the first failing call reverts the whole transaction with
/// that call's own revert data. Never deploy this outside tests and benchmarks.
contract BatchCaller {
    address public immutable owner;

    error NotOwner(address caller);

    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice Call `target` with each entry of `calls` in order; revert with the first failure.
    function execute(address target, bytes[] calldata calls) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        for (uint256 i = 0; i < calls.length; i++) {
            (bool ok, bytes memory answer) = target.call(calls[i]);
            if (!ok) {
                assembly {
                    revert(add(answer, 32), mload(answer))
                }
            }
        }
    }
}
