// SPDX-License-Identifier: MIT
// A flash lender with Aave V3's flashLoanSimple interface and callback, for local chains: lends from its own
// balance, charges the premium as Aave V3.4+ does (percentMulCeil, rounded up; 5 bps by default) and pulls back
// amount + premium with transferFrom after the receiver's executeOperation returns true.
pragma solidity ^0.8.20;

interface IERC20Min {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

interface IFlashLoanSimpleReceiver {
    function executeOperation(address asset, uint256 amount, uint256 premium, address initiator, bytes calldata params)
        external
        returns (bool);
}

contract MockAaveV3Pool {
    uint256 internal constant PERCENTAGE_FACTOR = 1e4;

    /// Flash-loan premium in basis points, as Aave V3's getter of the same name.
    uint128 public FLASHLOAN_PREMIUM_TOTAL;

    event FlashLoan(
        address indexed target, address initiator, address indexed asset, uint256 amount, uint256 premium, uint16 indexed referralCode
    );

    constructor(uint128 premiumBps) {
        FLASHLOAN_PREMIUM_TOTAL = premiumBps;
    }

    function flashLoanSimple(address receiverAddress, address asset, uint256 amount, bytes calldata params, uint16 referralCode)
        external
    {
        uint256 premium = (amount * FLASHLOAN_PREMIUM_TOTAL + PERCENTAGE_FACTOR - 1) / PERCENTAGE_FACTOR;
        _call(asset, abi.encodeWithSelector(IERC20Min.transfer.selector, receiverAddress, amount));
        require(
            IFlashLoanSimpleReceiver(receiverAddress).executeOperation(asset, amount, premium, msg.sender, params),
            "INVALID_FLASHLOAN_EXECUTOR_RETURN"
        );
        _call(asset, abi.encodeWithSelector(IERC20Min.transferFrom.selector, receiverAddress, address(this), amount + premium));
        emit FlashLoan(receiverAddress, msg.sender, asset, amount, premium, referralCode);
    }

    function _call(address token, bytes memory data) internal {
        (bool ok, bytes memory ret) = token.call(data);
        require(ok && (ret.length == 0 || abi.decode(ret, (bool))), "MockAaveV3Pool: token transfer failed");
    }
}
