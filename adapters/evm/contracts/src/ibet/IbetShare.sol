// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IbetSecurityTokenBase} from "./IbetSecurityTokenBase.sol";

/// @title IbetShare: an ibet-compatible share (equity) security token, written for stbridge.
/// @notice Follows the public ibet IbetShare interface: the security-token behaviour of
/// `IbetSecurityTokenBase` with revert codes 11XXXX, and the share's attributes: issue price,
/// per-share principal value, dividend information (per-share amount, record date, payment
/// date), cancellation date, memo and the cancelled flag. Amounts are integers in yen; dates
/// are `YYYYMMDD` strings.
contract IbetShare is IbetSecurityTokenBase {
    /// @notice The dividend currently declared.
    struct DividendInformation {
        uint256 dividends;
        string dividendRecordDate;
        string dividendPaymentDate;
    }

    /// @notice Issue price per share.
    uint256 public issuePrice;
    /// @notice Principal (paid-in capital) per share.
    uint256 public principalValue;
    /// @notice Dividend per share, record date and payment date.
    DividendInformation public dividendInformation;
    /// @notice Date the shares are cancelled (`YYYYMMDD`).
    string public cancellationDate;
    /// @notice Free-text memo.
    string public memo;
    /// @notice True once the issuer has cancelled the shares.
    bool public isCanceled;
    /// @notice Legacy getter ibet's share still exposes (never set; `isOffering` is used).
    bool public offeringStatus;
    /// @notice Legacy getter ibet's share still exposes: reference URLs by index (never set).
    mapping(uint8 => string) public referenceUrls;

    event ChangeDividendInformation(uint256 dividends, string dividendRecordDate, string dividendPaymentDate);
    event ChangeToCanceled();

    constructor(
        string memory _name,
        string memory _symbol,
        uint256 _issuePrice,
        uint256 _totalSupply,
        uint256 _dividends,
        string memory _dividendRecordDate,
        string memory _dividendPaymentDate,
        string memory _cancellationDate,
        uint256 _principalValue
    ) IbetSecurityTokenBase(_name, _symbol, _totalSupply) {
        issuePrice = _issuePrice;
        principalValue = _principalValue;
        dividendInformation = DividendInformation(_dividends, _dividendRecordDate, _dividendPaymentDate);
        cancellationDate = _cancellationDate;
    }

    function _prefix() internal pure override returns (string memory) {
        return "11";
    }

    function _bulkTransferChecksApproval() internal pure override returns (bool) {
        return true;
    }

    /// @notice Free balance of `_address` (locked and pending units are not included).
    function balanceOf(address _address) public view override returns (uint256) {
        return balances[_address];
    }

    /// @notice Declare a dividend.
    function setDividendInformation(
        uint256 _dividends,
        string memory _dividendRecordDate,
        string memory _dividendPaymentDate
    ) public onlyOwner {
        dividendInformation = DividendInformation(_dividends, _dividendRecordDate, _dividendPaymentDate);
        emit ChangeDividendInformation(_dividends, _dividendRecordDate, _dividendPaymentDate);
    }

    /// @notice Set the cancellation date.
    function setCancellationDate(string memory _cancellationDate) public onlyOwner {
        cancellationDate = _cancellationDate;
    }

    /// @notice Set the principal value per share.
    function setPrincipalValue(uint256 _principalValue) public onlyOwner {
        principalValue = _principalValue;
    }

    /// @notice Set the memo.
    function setMemo(string memory _memo) public onlyOwner {
        memo = _memo;
    }

    /// @notice Mark the shares cancelled.
    function changeToCanceled() public onlyOwner {
        isCanceled = true;
        emit ChangeToCanceled();
    }
}
