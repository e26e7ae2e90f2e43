// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IbetSecurityTokenBase} from "./IbetSecurityTokenBase.sol";

/// @title IbetStraightBond: an ibet-compatible straight bond security token, written for stbridge.
/// @notice Follows the public ibet IbetStraightBond interface: the security-token behaviour of
/// `IbetSecurityTokenBase` with revert codes 12XXXX, and the bond's attributes: face value and
/// its currency, interest rate (an integer percent with 4 decimal places: 602 = 0.0602 %),
/// interest payment dates (a JSON object `{"interestPaymentDate1": "MMDD", ...}`), interest
/// payment currency, redemption date, redemption value and its currency, return date and
/// amount (set by the constructor only, as in ibet's), purpose, base FX rate (a string with 6 decimal places), memo and the redeemed flag.
/// Currencies are ISO 4217 codes; an empty currency means yen. Dates are `YYYYMMDD` strings.
contract IbetStraightBond is IbetSecurityTokenBase {
    /// @notice Face value per unit.
    uint256 public faceValue;
    /// @notice Currency of the face value.
    string public faceValueCurrency;
    /// @notice Interest rate, percent with 4 decimal places.
    uint256 public interestRate;
    /// @notice Interest payment dates (JSON, MMDD values).
    string public interestPaymentDate;
    /// @notice Currency the interest is paid in.
    string public interestPaymentCurrency;
    /// @notice Redemption date (`YYYYMMDD`).
    string public redemptionDate;
    /// @notice Redemption value per unit.
    uint256 public redemptionValue;
    /// @notice Currency of the redemption value.
    string public redemptionValueCurrency;
    /// @notice Return date (`YYYYMMDD`).
    string public returnDate;
    /// @notice Return amount (free text).
    string public returnAmount;
    /// @notice Purpose of the issue.
    string public purpose;
    /// @notice Base FX rate (6 decimal places, as text).
    string public baseFXRate;
    /// @notice Free-text memo.
    string public memo;
    /// @notice True once the issuer has redeemed the bond.
    bool public isRedeemed;

    event ChangeFaceValue(uint256 faceValue);
    event ChangeRedemptionValue(uint256 redemptionValue);
    event ChangeToRedeemed();

    constructor(
        string memory _name,
        string memory _symbol,
        uint256 _totalSupply,
        uint256 _faceValue,
        string memory _faceValueCurrency,
        string memory _redemptionDate,
        uint256 _redemptionValue,
        string memory _redemptionValueCurrency,
        string memory _returnDate,
        string memory _returnAmount,
        string memory _purpose
    ) IbetSecurityTokenBase(_name, _symbol, _totalSupply) {
        faceValue = _faceValue;
        faceValueCurrency = _faceValueCurrency;
        redemptionDate = _redemptionDate;
        redemptionValue = _redemptionValue;
        redemptionValueCurrency = _redemptionValueCurrency;
        returnDate = _returnDate;
        returnAmount = _returnAmount;
        purpose = _purpose;
    }

    function _prefix() internal pure override returns (string memory) {
        return "12";
    }

    function _bulkTransferChecksApproval() internal pure override returns (bool) {
        return false;
    }

    /// @notice Free balance of `_owner` (locked and pending units are not included).
    function balanceOf(address _owner) public view override returns (uint256) {
        return balances[_owner];
    }

    /// @notice Set the face value per unit.
    function setFaceValue(uint256 _faceValue) public onlyOwner {
        faceValue = _faceValue;
        emit ChangeFaceValue(_faceValue);
    }

    /// @notice Set the face value currency.
    function setFaceValueCurrency(string memory _faceValueCurrency) public onlyOwner {
        faceValueCurrency = _faceValueCurrency;
    }

    /// @notice Set the interest rate (percent, 4 decimal places).
    function setInterestRate(uint256 _interestRate) public onlyOwner {
        interestRate = _interestRate;
    }

    /// @notice Set the interest payment dates (JSON of MMDD values).
    function setInterestPaymentDate(string memory _interestPaymentDate) public onlyOwner {
        interestPaymentDate = _interestPaymentDate;
    }

    /// @notice Set the interest payment currency.
    function setInterestPaymentCurrency(string memory _interestPaymentCurrency) public onlyOwner {
        interestPaymentCurrency = _interestPaymentCurrency;
    }

    /// @notice Set the redemption date.
    function setRedemptionDate(string memory _redemptionDate) public onlyOwner {
        redemptionDate = _redemptionDate;
    }

    /// @notice Set the redemption value per unit.
    function setRedemptionValue(uint256 _redemptionValue) public onlyOwner {
        redemptionValue = _redemptionValue;
        emit ChangeRedemptionValue(_redemptionValue);
    }

    /// @notice Set the redemption value currency.
    function setRedemptionValueCurrency(string memory _redemptionValueCurrency) public onlyOwner {
        redemptionValueCurrency = _redemptionValueCurrency;
    }

    /// @notice Set the purpose.
    function setPurpose(string memory _purpose) public onlyOwner {
        purpose = _purpose;
    }

    /// @notice Set the base FX rate.
    function setBaseFXRate(string memory _baseFXRate) public onlyOwner {
        baseFXRate = _baseFXRate;
    }

    /// @notice Set the memo.
    function setMemo(string memory _memo) public onlyOwner {
        memo = _memo;
    }

    /// @notice Mark the bond redeemed.
    function changeToRedeemed() public onlyOwner {
        isRedeemed = true;
        emit ChangeToRedeemed();
    }
}
