// SPDX-License-Identifier: MIT
// defipm's arbitrage executor: borrows the start token with an Aave V3 flash loan (flashLoanSimple), trades it
// round a cycle of Uniswap V2 pairs and V3 pools (called directly, no routers), repays loan + premium and sends
// the profit to the owner. Reverts unless the profit is at least `minProfit`, so a stale opportunity costs gas only.
pragma solidity ^0.8.20;

interface IERC20Like {
    function balanceOf(address owner) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
    function approve(address spender, uint256 value) external returns (bool);
}

interface IUniswapV2PairLike {
    function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

interface IUniswapV3PoolLike {
    function swap(address recipient, bool zeroForOne, int256 amountSpecified, uint160 sqrtPriceLimitX96, bytes calldata data)
        external
        returns (int256 amount0, int256 amount1);
}

interface IAaveV3PoolLike {
    function flashLoanSimple(address receiverAddress, address asset, uint256 amount, bytes calldata params, uint16 referralCode)
        external;
}

contract ArbExecutor {
    /// One swap of the cycle. kind: 0 = Uniswap V2 pair, 1 = Uniswap V3 pool. feeBps: the V2 pair's fee (30 = 0.3%).
    struct Hop {
        address pool;
        address tokenIn;
        address tokenOut;
        bool zeroForOne;
        uint8 kind;
        uint16 feeBps;
    }

    uint8 internal constant KIND_V2 = 0;
    uint8 internal constant KIND_V3 = 1;
    uint160 internal constant MIN_SQRT_RATIO_PLUS_ONE = 4295128740;
    uint160 internal constant MAX_SQRT_RATIO_MINUS_ONE = 1461446703485210103287273052203988822378723970341;

    address public immutable owner;
    address public immutable lender;
    address private activePool; // the V3 pool allowed to call back during a swap

    event ArbExecuted(address indexed asset, uint256 amount, uint256 premium, uint256 profit);

    constructor(address lender_) {
        owner = msg.sender;
        lender = lender_;
    }

    /// Borrow `amount` of `asset`, run `hops` (which must end in `asset`), repay, and send the profit to the owner.
    function execute(address asset, uint256 amount, Hop[] calldata hops, uint256 minProfit)
        external
        returns (uint256 profit)
    {
        require(msg.sender == owner, "ArbExecutor: not owner");
        require(hops.length > 0 && hops[0].tokenIn == asset && hops[hops.length - 1].tokenOut == asset, "ArbExecutor: not a cycle");
        uint256 before = IERC20Like(asset).balanceOf(address(this));
        IAaveV3PoolLike(lender).flashLoanSimple(address(this), asset, amount, abi.encode(hops), 0);
        uint256 afterwards = IERC20Like(asset).balanceOf(address(this));
        require(afterwards >= before + minProfit, "ArbExecutor: profit below minimum");
        profit = afterwards - before;
        if (profit > 0) {
            _transfer(asset, owner, profit);
        }
    }

    /// Aave V3 flash-loan callback: trade the loan round the cycle and approve the repayment.
    function executeOperation(address asset, uint256 amount, uint256 premium, address initiator, bytes calldata params)
        external
        returns (bool)
    {
        require(msg.sender == lender && initiator == address(this), "ArbExecutor: untrusted flash loan");
        Hop[] memory hops = abi.decode(params, (Hop[]));
        uint256 out = amount;
        for (uint256 i = 0; i < hops.length; i++) {
            out = hops[i].kind == KIND_V2 ? _swapV2(hops[i], out) : _swapV3(hops[i], out);
        }
        require(out >= amount + premium, "ArbExecutor: cannot repay the loan");
        require(IERC20Like(asset).approve(lender, amount + premium), "ArbExecutor: approve failed");
        emit ArbExecuted(asset, amount, premium, out - amount - premium);
        return true;
    }

    function _swapV2(Hop memory hop, uint256 amountIn) internal returns (uint256 amountOut) {
        require(hop.kind == KIND_V2, "ArbExecutor: unknown pool kind");
        (uint112 r0, uint112 r1,) = IUniswapV2PairLike(hop.pool).getReserves();
        (uint256 reserveIn, uint256 reserveOut) = hop.zeroForOne ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        uint256 inWithFee = amountIn * (10_000 - hop.feeBps);
        amountOut = (inWithFee * reserveOut) / (reserveIn * 10_000 + inWithFee);
        _transfer(hop.tokenIn, hop.pool, amountIn);
        (uint256 out0, uint256 out1) = hop.zeroForOne ? (uint256(0), amountOut) : (amountOut, uint256(0));
        IUniswapV2PairLike(hop.pool).swap(out0, out1, address(this), new bytes(0));
    }

    function _swapV3(Hop memory hop, uint256 amountIn) internal returns (uint256 amountOut) {
        require(hop.kind == KIND_V3, "ArbExecutor: unknown pool kind");
        require(amountIn <= uint256(type(int256).max), "ArbExecutor: amount too large");
        activePool = hop.pool;
        uint160 limit = hop.zeroForOne ? MIN_SQRT_RATIO_PLUS_ONE : MAX_SQRT_RATIO_MINUS_ONE;
        (int256 amount0, int256 amount1) =
            IUniswapV3PoolLike(hop.pool).swap(address(this), hop.zeroForOne, int256(amountIn), limit, abi.encode(hop.tokenIn));
        activePool = address(0);
        int256 received = hop.zeroForOne ? -amount1 : -amount0;
        int256 paid = hop.zeroForOne ? amount0 : amount1;
        require(paid == int256(amountIn), "ArbExecutor: V3 pool filled only part of the input");
        amountOut = uint256(received);
    }

    /// Uniswap V3 swap callback: pay the pool that is swapping, and only it.
    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data) external {
        require(msg.sender == activePool && activePool != address(0), "ArbExecutor: unexpected callback");
        address tokenIn = abi.decode(data, (address));
        uint256 owed = amount0Delta > 0 ? uint256(amount0Delta) : uint256(amount1Delta);
        _transfer(tokenIn, msg.sender, owed);
    }

    /// Recover tokens left here (only the owner; e.g. dust from a token with a transfer fee).
    function sweep(address token, uint256 amount) external {
        require(msg.sender == owner, "ArbExecutor: not owner");
        _transfer(token, owner, amount);
    }

    function _transfer(address token, address to, uint256 value) internal {
        (bool ok, bytes memory data) = token.call(abi.encodeWithSelector(IERC20Like.transfer.selector, to, value));
        require(ok && (data.length == 0 || abi.decode(data, (bool))), "ArbExecutor: transfer failed");
    }
}
