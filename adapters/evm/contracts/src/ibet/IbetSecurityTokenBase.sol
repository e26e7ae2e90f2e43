// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PersonalInfo} from "./PersonalInfo.sol";

/// @title IbetOwnable: single-owner access with ibet's 50XXXX revert codes.
/// @notice 500001 the caller is not the owner; 500101 the new owner is the zero address.
/// As ibet's Ownable, the constructor emits nothing: `OwnershipTransferred` is logged only
/// by `transferOwnership`.
abstract contract IbetOwnable {
    /// @notice The issuer: the only account allowed the issuer operations.
    address public owner;

    /// @notice Ownership moved from `previousOwner` to `newOwner`.
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    constructor() {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert("500001");
        _;
    }

    /// @notice Hand the token to a new issuer account.
    function transferOwnership(address newOwner) public onlyOwner {
        if (newOwner == address(0)) revert("500101");
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }
}

/// @title The receiver side of a transfer to a contract (ibet's ContractReceiver).
interface IbetContractReceiver {
    /// @notice Called by the token after `_value` units from `_from` arrived.
    function tokenFallback(address _from, uint256 _value, bytes memory _data) external;
}

/// @title IbetSecurityTokenBase: what ibet shares and straight bonds have in common.
/// @notice Written for stbridge, compatible with the public ibet security-token interfaces
/// (IbetStandardTokenInterface + IbetSecurityTokenInterface): no decimals, no approve or
/// allowance; `transferFrom` is the issuer's forced transfer.
///
/// Balances come in three kinds and only the first is in `balanceOf`:
///   free (`balanceOf`), locked per lock address (`lockedOf(lock, account)`) and pending
///   transfer applications (`pendingTransfer(account)`). `totalSupply` counts all three.
///
/// `transfer(to, value)` checks, in this order (the first failure reverts):
///   XX0401 the sender's free balance is below `value`
///   XX0402 the token is not transferable
///   to a contract:  XX0301 the receiver is not the tradable exchange
///   to an account:  XX0201 transfer approval is required and the caller is not the exchange
///                   XX0202 the receiver is not the issuer and has not registered its
///                          personal information with the issuer (when required)
/// `status` is the handling status: exchanges and escrows enforce it, the token does not.
///
/// Other revert codes (XX is 11 for a share, 12 for a bond, same suffixes):
///   XX0002 lock: value above the free balance      XX0102 unlock: value above the locked amount
///   XX0601 transferFrom: value above `from`'s free balance
///   XX0701 applyForTransfer: approval not required, not transferable, or balance too low
///   XX0702 applyForTransfer: receiver without personal information
///   XX0801 cancelTransfer: caller neither applicant nor issuer   XX0802 application not valid
///   XX0901 approveTransfer: not transferable       XX0902 application not valid
///   XX1101 redeemFrom: value above the locked amount   XX1102 value above the free balance
///   XX1201 forceUnlock: value above the locked amount
///   XX1001 applyForOffering: the offering is closed
///   XX1002 applyForOffering: registration required and the applicant not registered (with
///          no PersonalInfo set, the register call itself fails: no code, as ibet's)
///   XX1601 forceLock: value above the free balance
///   XX1701 forceChangeLockedAccount: value above the locked amount
///   XX1301 / XX1401 / XX1501 bulkIssueFrom / bulkRedeemFrom / bulkTransferFrom: the lists'
///          lengths differ (then each item runs, and fails, as its single operation)
///   bulkTransfer (share): 110501 approval required, 110502 lengths differ, 110503 the
///          total above the free balance, 110504 not transferable (the exchange excepted);
///   bulkTransfer (bond): 120501 lengths differ, 120502 total above the balance,
///          120503 not transferable (the exchange excepted); then each item is checked as
///          one transfer to an account (XX0201, XX0202) or to a contract (XX0301)
///   500001 issuer-only operation called by another account
///
/// With `requirePersonalInfoRegistered` false no path consults PersonalInfo: transfers,
/// bulk transfers, transfer applications and offering applications accept an unregistered
/// receiver or applicant.
///
/// Events as ibet's: the constructor logs nothing (the issuer's initial balance has no
/// `Transfer`); a transfer into a contract calls the receiver's `tokenFallback` first and
/// logs `Transfer` after it, so the receiver's own logs come before the token's.
abstract contract IbetSecurityTokenBase is IbetOwnable {
    /// @notice Token name.
    string public name;
    /// @notice Token symbol.
    string public symbol;
    /// @notice Units issued: free + locked + pending, over all accounts.
    uint256 public totalSupply;
    /// @notice The one contract allowed to receive the token (and to transfer without approval).
    address public tradableExchange;
    /// @notice Issuer's contact information (free text).
    string public contactInformation;
    /// @notice Issuer's privacy policy (free text).
    string public privacyPolicy;
    /// @notice Handling status (true: active). Not enforced by the token itself.
    bool public status;
    /// @notice The PersonalInfo register receivers must be registered in.
    address public personalInfoAddress;
    /// @notice Whether a receiver must be registered with the issuer in PersonalInfo.
    bool public requirePersonalInfoRegistered;
    /// @notice Whether holders may transfer at all.
    bool public transferable;
    /// @notice Whether each transfer goes through apply / approve.
    bool public transferApprovalRequired;

    /// @notice A transfer waiting for the issuer's approval.
    struct ApplicationForTransfer {
        address from;
        address to;
        uint256 amount;
        bool valid;
    }

    /// @notice Whether the issuer accepts applications for the offering.
    bool public isOffering;

    /// @notice An application for the offering and the amount allotted to it.
    struct ApplicationForOffering {
        uint256 applicationAmount;
        uint256 allotmentAmount;
        string data;
    }

    /// @notice Applications for the offering, by applicant.
    mapping(address => ApplicationForOffering) public applicationsForOffering;

    /// @notice Every application ever made, by index.
    ApplicationForTransfer[] public applicationsForTransfer;
    /// @notice Units of each account inside valid applications (outside `balanceOf`).
    mapping(address => uint256) public pendingTransfer;
    /// @notice Locked units: lock address => account => amount (outside `balanceOf`).
    mapping(address => mapping(address => uint256)) public locked;

    /// @notice Free balances (the same as `balanceOf`), public as in ibet's contracts.
    mapping(address => uint256) public balances;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event ChangeOfferingStatus(bool indexed status);
    event ApplyForOffering(address accountAddress, uint256 amount, string data);
    event Allot(address accountAddress, uint256 amount);
    event ChangeStatus(bool indexed status);
    event ChangeTransferApprovalRequired(bool required);
    event ApplyForTransfer(uint256 indexed index, address from, address to, uint256 value, string data);
    event CancelTransfer(uint256 indexed index, address from, address to, string data);
    event ApproveTransfer(uint256 indexed index, address from, address to, string data);
    event Lock(address indexed accountAddress, address indexed lockAddress, uint256 value, string data);
    event ForceLock(address indexed accountAddress, address indexed lockAddress, uint256 value, string data);
    event Unlock(
        address indexed accountAddress,
        address indexed lockAddress,
        address recipientAddress,
        uint256 value,
        string data
    );
    event ForceUnlock(
        address indexed accountAddress,
        address indexed lockAddress,
        address recipientAddress,
        uint256 value,
        string data
    );
    event ForceChangeLockedAccount(
        address indexed lockAddress,
        address indexed beforeAccountAddress,
        address indexed afterAccountAddress,
        uint256 value,
        string data
    );
    event Issue(address indexed from, address indexed targetAddress, address indexed lockAddress, uint256 amount);
    event Redeem(address indexed from, address indexed targetAddress, address indexed lockAddress, uint256 amount);

    constructor(string memory _name, string memory _symbol, uint256 _totalSupply) {
        name = _name;
        symbol = _symbol;
        totalSupply = _totalSupply;
        balances[msg.sender] = _totalSupply;
        status = true;
        requirePersonalInfoRegistered = true;
    }

    /// @dev The two leading digits of this token's revert codes ("11" share, "12" bond).
    function _prefix() internal pure virtual returns (string memory);

    /// @dev Whether `bulkTransfer` refuses first when transfer approval is required (ibet's
    /// share does, code XX0501, which shifts its other bulkTransfer codes by one; the bond
    /// does not).
    function _bulkTransferChecksApproval() internal pure virtual returns (bool);

    function _fail(string memory suffix) internal pure {
        revert(string.concat(_prefix(), suffix));
    }

    // -- reads -------------------------------------------------------------------------

    /// @notice Free balance of an account (locked and pending units are not included).
    /// @dev Declared by each token, with the argument name its ibet counterpart uses.
    function balanceOf(address) public view virtual returns (uint256);

    /// @notice Units of `_accountAddress` locked to `_lockAddress`.
    function lockedOf(address _lockAddress, address _accountAddress) public view returns (uint256) {
        return locked[_lockAddress][_accountAddress];
    }

    function _isContract(address _addr) internal view returns (bool) {
        return _addr.code.length > 0;
    }

    function _registered(address _to) internal view returns (bool) {
        if (_to == owner || !requirePersonalInfoRegistered) return true;
        return PersonalInfo(personalInfoAddress).isRegistered(_to, owner);
    }

    // -- issuer settings ---------------------------------------------------------------

    /// @notice Set the tradable exchange (the only contract that may receive the token).
    function setTradableExchange(address _exchange) public onlyOwner {
        tradableExchange = _exchange;
    }

    /// @notice Set the contact information.
    function setContactInformation(string memory _contactInformation) public onlyOwner {
        contactInformation = _contactInformation;
    }

    /// @notice Set the privacy policy.
    function setPrivacyPolicy(string memory _privacyPolicy) public onlyOwner {
        privacyPolicy = _privacyPolicy;
    }

    /// @notice Set the handling status.
    function setStatus(bool _status) public onlyOwner {
        status = _status;
        emit ChangeStatus(_status);
    }

    /// @notice Point the token at a PersonalInfo register.
    function setPersonalInfoAddress(address _address) public onlyOwner {
        personalInfoAddress = _address;
    }

    /// @notice Require (or not) the receiver's personal-information registration.
    function setRequirePersonalInfoRegistered(bool _requireRegistered) public onlyOwner {
        requirePersonalInfoRegistered = _requireRegistered;
    }

    /// @notice Allow or stop transfers by holders.
    function setTransferable(bool _transferable) public onlyOwner {
        transferable = _transferable;
    }

    /// @notice Require (or not) the issuer's approval of every transfer.
    function setTransferApprovalRequired(bool _required) public onlyOwner {
        transferApprovalRequired = _required;
        emit ChangeTransferApprovalRequired(_required);
    }

    // -- offering --------------------------------------------------------------------------

    /// @notice Open or close the offering.
    function changeOfferingStatus(bool _isOffering) public onlyOwner {
        isOffering = _isOffering;
        emit ChangeOfferingStatus(_isOffering);
    }

    /// @notice Apply for `_amount` units of the offering while it is open; the applicant
    /// must be registered with the issuer only while `requirePersonalInfoRegistered` is set.
    function applyForOffering(uint256 _amount, string memory _data) public {
        if (!isOffering) _fail("1001");
        if (
            requirePersonalInfoRegistered
                && !PersonalInfo(personalInfoAddress).isRegistered(msg.sender, owner)
        ) _fail("1002");
        ApplicationForOffering storage app = applicationsForOffering[msg.sender];
        app.applicationAmount = _amount;
        app.data = _data;
        emit ApplyForOffering(msg.sender, _amount, _data);
    }

    /// @notice Record the amount allotted to an applicant (the units move separately).
    function allot(address _accountAddress, uint256 _amount) public onlyOwner {
        applicationsForOffering[_accountAddress].allotmentAmount = _amount;
        emit Allot(_accountAddress, _amount);
    }

    // -- transfers -----------------------------------------------------------------------

    /// @notice Transfer `_value` free units to `_to` (see the contract notice for the checks).
    function transfer(address _to, uint256 _value) public returns (bool) {
        if (balances[msg.sender] < _value) _fail("0401");
        if (!transferable) _fail("0402");
        _deliver(_to, _value);
        return true;
    }

    /// @notice Transfer to each of `_toList` the matching `_valueList` amount (see the codes
    /// in the contract notice); every item is checked as one transfer.
    function bulkTransfer(address[] calldata _toList, uint256[] calldata _valueList)
        public
        returns (bool success)
    {
        bool lengths = _toList.length == _valueList.length;
        uint256 total;
        for (uint256 i = 0; lengths && i < _valueList.length; i++) {
            total += _valueList[i];
        }
        bool covered = balances[msg.sender] >= total;
        bool allowed = msg.sender == tradableExchange || transferable;
        if (_bulkTransferChecksApproval()) {
            if (transferApprovalRequired) _fail("0501");
            if (!lengths) _fail("0502");
            if (!covered) _fail("0503");
            if (!allowed) _fail("0504");
        } else {
            if (!lengths) _fail("0501");
            if (!covered) _fail("0502");
            if (!allowed) _fail("0503");
        }
        for (uint256 i = 0; i < _toList.length; i++) {
            _deliver(_toList[i], _valueList[i]);
        }
        return true;
    }

    /// @dev One transfer of the caller's units once balance and transferable are checked:
    /// to a contract only the tradable exchange (XX0301), called back after the move and
    /// before `Transfer` is logged; to an account XX0201 (approval required, caller not the
    /// exchange), XX0202 (unregistered).
    function _deliver(address _to, uint256 _value) internal {
        if (_isContract(_to)) {
            if (_to != tradableExchange) _fail("0301");
            _move(msg.sender, _to, _value);
            IbetContractReceiver(_to).tokenFallback(msg.sender, _value, "");
        } else {
            if (msg.sender != tradableExchange && transferApprovalRequired) _fail("0201");
            if (!_registered(_to)) _fail("0202");
            _move(msg.sender, _to, _value);
        }
        emit Transfer(msg.sender, _to, _value);
    }

    /// @notice Forced transfer by the issuer: no transferable, approval or register checks.
    /// A receiving contract is called back with the issuer as the sender, as ibet does.
    function transferFrom(address _from, address _to, uint256 _value) public onlyOwner returns (bool) {
        if (balances[_from] < _value) _fail("0601");
        _move(_from, _to, _value);
        if (_isContract(_to)) {
            IbetContractReceiver(_to).tokenFallback(msg.sender, _value, "");
        }
        emit Transfer(_from, _to, _value);
        return true;
    }

    /// @notice Forced transfers by the issuer, item by item as `transferFrom` (XX1501: the
    /// lists' lengths differ).
    function bulkTransferFrom(
        address[] calldata _fromList,
        address[] calldata _toList,
        uint256[] calldata _valueList
    ) public onlyOwner returns (bool success) {
        if (_fromList.length != _toList.length || _fromList.length != _valueList.length) {
            _fail("1501");
        }
        for (uint256 i = 0; i < _fromList.length; i++) {
            transferFrom(_fromList[i], _toList[i], _valueList[i]);
        }
        return true;
    }

    /// @dev Move free units; the caller logs `Transfer` (after a receiver's callback).
    function _move(address _from, address _to, uint256 _value) internal {
        balances[_from] -= _value;
        balances[_to] += _value;
    }

    // -- transfer approval -----------------------------------------------------------

    /// @notice Apply to transfer `_value` to `_to`; the units wait outside `balanceOf`.
    function applyForTransfer(address _to, uint256 _value, string memory _data) public {
        if (!transferApprovalRequired || !transferable || balances[msg.sender] < _value) _fail("0701");
        if (!_registered(_to)) _fail("0702");
        balances[msg.sender] -= _value;
        pendingTransfer[msg.sender] += _value;
        uint256 index = applicationsForTransfer.length;
        applicationsForTransfer.push(ApplicationForTransfer({from: msg.sender, to: _to, amount: _value, valid: true}));
        emit ApplyForTransfer(index, msg.sender, _to, _value, _data);
    }

    /// @notice Withdraw application `_index` (the applicant or the issuer); units return.
    function cancelTransfer(uint256 _index, string memory _data) public {
        ApplicationForTransfer storage app = applicationsForTransfer[_index];
        if (app.from != msg.sender && msg.sender != owner) _fail("0801");
        if (!app.valid) _fail("0802");
        balances[app.from] += app.amount;
        pendingTransfer[app.from] -= app.amount;
        app.valid = false;
        emit CancelTransfer(_index, app.from, app.to, _data);
    }

    /// @notice Approve application `_index` (issuer): the units reach the receiver.
    function approveTransfer(uint256 _index, string memory _data) public onlyOwner {
        if (!transferable) _fail("0901");
        ApplicationForTransfer storage app = applicationsForTransfer[_index];
        if (!app.valid) _fail("0902");
        balances[app.to] += app.amount;
        pendingTransfer[app.from] -= app.amount;
        app.valid = false;
        emit ApproveTransfer(_index, app.from, app.to, _data);
        emit Transfer(app.from, app.to, app.amount);
    }

    // -- locks ---------------------------------------------------------------------------

    /// @notice Lock `_value` of the caller's free units to `_lockAddress`.
    function lock(address _lockAddress, uint256 _value, string memory _data) public {
        if (balances[msg.sender] < _value) _fail("0002");
        balances[msg.sender] -= _value;
        locked[_lockAddress][msg.sender] += _value;
        emit Lock(msg.sender, _lockAddress, _value, _data);
    }

    /// @notice The lock address (caller) releases `_value` of `_accountAddress`'s locked units
    /// to `_recipientAddress`: any recipient, with no transferable or register check.
    function unlock(address _accountAddress, address _recipientAddress, uint256 _value, string memory _data)
        public
    {
        if (locked[msg.sender][_accountAddress] < _value) _fail("0102");
        locked[msg.sender][_accountAddress] -= _value;
        balances[_recipientAddress] += _value;
        emit Unlock(_accountAddress, msg.sender, _recipientAddress, _value, _data);
    }

    /// @notice The issuer locks `_value` of `_accountAddress`'s free units to `_lockAddress`.
    function forceLock(address _lockAddress, address _accountAddress, uint256 _value, string memory _data)
        public
        onlyOwner
    {
        if (balances[_accountAddress] < _value) _fail("1601");
        balances[_accountAddress] -= _value;
        locked[_lockAddress][_accountAddress] += _value;
        emit ForceLock(_accountAddress, _lockAddress, _value, _data);
    }

    /// @notice The issuer releases locked units to any recipient.
    function forceUnlock(
        address _lockAddress,
        address _accountAddress,
        address _recipientAddress,
        uint256 _value,
        string memory _data
    ) public onlyOwner {
        if (locked[_lockAddress][_accountAddress] < _value) _fail("1201");
        locked[_lockAddress][_accountAddress] -= _value;
        balances[_recipientAddress] += _value;
        emit ForceUnlock(_accountAddress, _lockAddress, _recipientAddress, _value, _data);
    }

    /// @notice The issuer moves locked units from one account to another under the same lock.
    function forceChangeLockedAccount(
        address _lockAddress,
        address _beforeAccountAddress,
        address _afterAccountAddress,
        uint256 _value,
        string memory _data
    ) public onlyOwner {
        if (locked[_lockAddress][_beforeAccountAddress] < _value) _fail("1701");
        locked[_lockAddress][_beforeAccountAddress] -= _value;
        locked[_lockAddress][_afterAccountAddress] += _value;
        emit ForceChangeLockedAccount(_lockAddress, _beforeAccountAddress, _afterAccountAddress, _value, _data);
    }

    // -- supply ----------------------------------------------------------------------------

    /// @notice Issue `_amount` new units to `_targetAddress` (locked to `_lockAddress` if set).
    function issueFrom(address _targetAddress, address _lockAddress, uint256 _amount) public onlyOwner {
        if (_lockAddress != address(0)) {
            locked[_lockAddress][_targetAddress] += _amount;
        } else {
            balances[_targetAddress] += _amount;
        }
        totalSupply += _amount;
        emit Issue(msg.sender, _targetAddress, _lockAddress, _amount);
    }

    /// @notice `issueFrom` for each item (XX1301: the lists' lengths differ).
    function bulkIssueFrom(
        address[] calldata _targetAddressList,
        address[] calldata _lockAddressList,
        uint256[] calldata _amounts
    ) public onlyOwner {
        if (
            _targetAddressList.length != _lockAddressList.length
                || _targetAddressList.length != _amounts.length
        ) _fail("1301");
        for (uint256 i = 0; i < _targetAddressList.length; i++) {
            issueFrom(_targetAddressList[i], _lockAddressList[i], _amounts[i]);
        }
    }

    /// @notice Redeem `_amount` units of `_targetAddress` (from the lock if `_lockAddress` set).
    function redeemFrom(address _targetAddress, address _lockAddress, uint256 _amount) public onlyOwner {
        if (_lockAddress != address(0)) {
            if (locked[_lockAddress][_targetAddress] < _amount) _fail("1101");
            locked[_lockAddress][_targetAddress] -= _amount;
        } else {
            if (balances[_targetAddress] < _amount) _fail("1102");
            balances[_targetAddress] -= _amount;
        }
        totalSupply -= _amount;
        emit Redeem(msg.sender, _targetAddress, _lockAddress, _amount);
    }

    /// @notice `redeemFrom` for each item (XX1401: the lists' lengths differ).
    function bulkRedeemFrom(
        address[] calldata _targetAddressList,
        address[] calldata _lockAddressList,
        uint256[] calldata _amounts
    ) public onlyOwner {
        if (
            _targetAddressList.length != _lockAddressList.length
                || _targetAddressList.length != _amounts.length
        ) _fail("1401");
        for (uint256 i = 0; i < _targetAddressList.length; i++) {
            redeemFrom(_targetAddressList[i], _lockAddressList[i], _amounts[i]);
        }
    }
}
