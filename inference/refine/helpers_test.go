package refine

const realData = "../../../shared/data/real/totalsegmentator"
