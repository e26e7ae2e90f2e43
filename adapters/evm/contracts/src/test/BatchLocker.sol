// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

interface IBatchHTLC {
    function lockToken(address token, uint256 amount, bytes32 hashlock, address receiver, uint256 deadline)
        external
        returns (bytes32);
}

interface IBatchToken {
    function approve(address spender, uint256 value) external returns (bool);
    function transfer(address to, uint256 value) external returns (bool);
}

/// @title BatchLocker: a test-only wallet that makes several HTLC calls in one transaction.
/// @notice Shows that sequential token locks in one transaction work while the HTLC's
/// per-token reentrancy mark is set, and that a transfer to the HTLC between them makes the
/// next lock fail. Never deploy this outside tests.
contract BatchLocker {
    /// @notice Lock `a` then `b` of `token` (held by this contract) in this one transaction.
    function lockTwice(
        address htlc,
        address token,
        uint256 a,
        uint256 b,
        bytes32 first,
        bytes32 second,
        address receiver,
        uint256 deadline
    ) external {
        IBatchToken(token).approve(htlc, a + b);
        IBatchHTLC(htlc).lockToken(token, a, first, receiver, deadline);
        IBatchHTLC(htlc).lockToken(token, b, second, receiver, deadline);
    }

    /// @notice Lock `a`, send `gift` straight to the HTLC, then lock `b`: the second fails.
    function lockGiftLock(
        address htlc,
        address token,
        uint256 a,
        uint256 gift,
        uint256 b,
        bytes32 first,
        bytes32 second,
        address receiver,
        uint256 deadline
    ) external {
        IBatchToken(token).approve(htlc, a + b);
        IBatchHTLC(htlc).lockToken(token, a, first, receiver, deadline);
        IBatchToken(token).transfer(htlc, gift);
        IBatchHTLC(htlc).lockToken(token, b, second, receiver, deadline);
    }
}
