// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Test-only ibet receiving contract that logs every callback it gets.
/// @notice Set as a token's tradable exchange, it shows where the receiver's own logs fall
/// among the token's (ibet calls `tokenFallback` before it logs `Transfer`). Never deploy
/// this outside tests.
contract IbetReceiverProbe {
    /// @notice `tokenFallback` was called by token `token` for `value` units from `from`.
    event Fallback(address indexed token, address from, uint256 value);

    /// @notice ibet's ContractReceiver hook: log and accept.
    function tokenFallback(address _from, uint256 _value, bytes memory) external {
        emit Fallback(msg.sender, _from, _value);
    }
}
