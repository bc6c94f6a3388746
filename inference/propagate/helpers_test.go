package propagate

const realData = "../../../shared/data/real/totalsegmentator"
